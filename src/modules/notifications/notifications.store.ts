import type { Pool } from 'mariadb';
import { retryOnConflict } from '../../db/conflict-retry.ts';
import { parseUtcDateTime, utcDateTime } from '../../db/mysql-url.ts';
import type { Db } from '../../db/prisma.ts';
import type { Notification } from '../../generated/prisma/client.ts';

export type { Notification };

/** A friend request or acceptance: one notification for one recipient. */
export interface NewNotification {
  userId: number;
  type: 'friend_request' | 'friend_accepted';
  actorId: number;
  createdAt: Date;
}

/** A `mention`, or a `message` notification counting `count` messages of its room, the newest being `messageId`. */
export interface MessageNotificationRow {
  userId: number;
  type: 'message' | 'mention';
  actorId: number;
  messageId: string;
  preview: string | null;
  count: number;
  createdAt: Date;
}

/** Where a page continues: right after this notification in newest-first order. */
export interface PagePosition {
  createdAt: Date;
  id: bigint;
}

export interface PageRequest {
  unreadOnly: boolean;
  before?: PagePosition | undefined;
  limit: number;
}

/** A notifications row as the pool returns it (`dateStrings`: DATETIME as UTC text). */
interface RawNotification {
  id: bigint | number;
  user_id: number;
  type: Notification['type'];
  actor_id: number | null;
  room_id: number | null;
  message_id: string | null;
  preview: string | null;
  count: number;
  created_at: string;
  read_at: string | null;
  unread_message: number | null;
}

const COLUMNS = 'id, user_id, type, actor_id, room_id, message_id, preview, count, created_at, read_at, unread_message';

function toNotification(row: RawNotification): Notification {
  return {
    id: BigInt(row.id),
    userId: row.user_id,
    type: row.type,
    actorId: row.actor_id,
    roomId: row.room_id,
    messageId: row.message_id,
    preview: row.preview,
    count: row.count,
    createdAt: parseUtcDateTime(row.created_at),
    readAt: row.read_at === null ? null : parseUtcDateTime(row.read_at),
    unreadMessage: row.unread_message === null ? null : Boolean(row.unread_message),
  };
}

const marks = (values: readonly unknown[]) => values.map(() => '?').join(', ');

/**
 * Every database call of the notifications module. The ones each batch of messages makes
 * (recordMessages, changedByMessages, unreadCounts) are plain statements on the pool: Prisma's
 * query building and result mapping cost more than the statements themselves there.
 */
export class NotificationStore {
  constructor(
    private readonly db: Db,
    private readonly pool: Pool,
  ) {}

  insert(notification: NewNotification): Promise<Notification> {
    return this.db.notification.create({ data: notification });
  }

  /**
   * Inserts the mentions, and each user's `message` notification of the room: inserted, or, when
   * the user already has an unread one for this room (the unique key on the generated
   * `unread_message` column), counted up in the same statement. Concurrent writes from several
   * instances therefore never make two unread `message` notifications, and each message counts
   * once. Of two writes done out of order, the newer message's preview, sender and time stay
   * (created_at is assigned last, so the comparisons before it see the stored value).
   */
  async recordMessages(roomId: number, rows: readonly MessageNotificationRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Same keys in the same order from every instance; a deadlock victim did nothing and runs again.
    const sorted = [...rows].sort((a, b) => a.userId - b.userId || a.type.localeCompare(b.type));
    const values = sorted.flatMap((row) => [row.userId, row.type, row.actorId, roomId, row.messageId, row.preview, row.count, utcDateTime(row.createdAt)]);
    const newer = 'VALUES(`created_at`) >= `created_at`';
    await retryOnConflict(() =>
      this.pool.query(
        `INSERT INTO notifications (\`user_id\`, \`type\`, \`actor_id\`, \`room_id\`, \`message_id\`, \`preview\`, \`count\`, \`created_at\`)
        VALUES ${sorted.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
        ON DUPLICATE KEY UPDATE
          \`count\` = \`count\` + VALUES(\`count\`),
          \`actor_id\` = IF(${newer}, VALUES(\`actor_id\`), \`actor_id\`),
          \`message_id\` = IF(${newer}, VALUES(\`message_id\`), \`message_id\`),
          \`preview\` = IF(${newer}, VALUES(\`preview\`), \`preview\`),
          \`created_at\` = GREATEST(\`created_at\`, VALUES(\`created_at\`))`,
        values,
      ),
    );
  }

  /**
   * The mentions of these messages, and the unread `message` notifications of `userIds` in their
   * room, in one round trip: two SELECTs (each over its own index) in one UNION ALL.
   */
  async changedByMessages(roomId: number, messageIds: readonly string[], userIds: readonly number[]): Promise<Notification[]> {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (messageIds.length > 0) {
      parts.push(`SELECT ${COLUMNS} FROM notifications WHERE room_id = ? AND message_id IN (${marks(messageIds)}) AND type = 'mention'`);
      params.push(roomId, ...messageIds);
    }
    if (userIds.length > 0) {
      parts.push(`SELECT ${COLUMNS} FROM notifications WHERE user_id IN (${marks(userIds)}) AND room_id = ? AND unread_message = TRUE`);
      params.push(...userIds, roomId);
    }
    if (parts.length === 0) return [];
    const rows = await this.pool.query<RawNotification[]>({ sql: parts.join(' UNION ALL '), dateStrings: true }, params);
    return rows.map(toNotification);
  }

  unreadMessageNotification(userId: number, roomId: number): Promise<Notification | null> {
    return this.db.notification.findFirst({ where: { userId, roomId, unreadMessage: true } });
  }

  /**
   * Marks a room's `message` notification read, unless a newer message has counted it up since
   * it was read from the database (its message_id moved on): that message is still unread.
   */
  async markReadUnlessBumped(notification: Notification, at: Date): Promise<Notification | null> {
    const { count } = await this.db.notification.updateMany({
      where: { id: notification.id, messageId: notification.messageId, readAt: null },
      data: { readAt: at },
    });
    return count === 1 ? { ...notification, readAt: at, unreadMessage: null } : null;
  }

  /** Marks those of `ids` that are mine and unread; returns the ones it marked. */
  async markRead(userId: number, ids: readonly number[], at: Date): Promise<number[]> {
    const unread = await this.db.notification.findMany({
      where: { userId, id: { in: ids.map(BigInt) }, readAt: null },
      select: { id: true },
    });
    if (unread.length === 0) return [];
    await this.db.notification.updateMany({ where: { userId, id: { in: unread.map((row) => row.id) }, readAt: null }, data: { readAt: at } });
    return unread.map((row) => Number(row.id));
  }

  /** Marks every unread notification of mine; returns how many. */
  async markAllRead(userId: number, at: Date): Promise<number> {
    const { count } = await this.db.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: at } });
    return count;
  }

  /** My notifications, newest first, over (user_id, created_at) or (user_id, read_at, created_at). */
  async page(userId: number, request: PageRequest): Promise<{ rows: Notification[]; hasMore: boolean }> {
    const before = request.before;
    const rows = await this.db.notification.findMany({
      where: {
        userId,
        ...(request.unreadOnly ? { readAt: null } : {}),
        ...(before ? { OR: [{ createdAt: { lt: before.createdAt } }, { createdAt: before.createdAt, id: { lt: before.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: request.limit + 1,
    });
    return { rows: rows.slice(0, request.limit), hasMore: rows.length > request.limit };
  }

  /** Unread notifications per user (users with none are absent), in one query. */
  async unreadCounts(userIds: readonly number[]): Promise<Map<number, number>> {
    if (userIds.length === 0) return new Map();
    const rows = await this.pool.query<{ user_id: number; unread: bigint | number }[]>(
      `SELECT user_id, COUNT(*) AS unread FROM notifications WHERE user_id IN (${marks(userIds)}) AND read_at IS NULL GROUP BY user_id`,
      [...userIds],
    );
    return new Map(rows.map((row) => [row.user_id, Number(row.unread)]));
  }
}
