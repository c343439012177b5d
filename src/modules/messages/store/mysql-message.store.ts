import type { Pool } from 'mariadb';
import { retryOnConflict } from '../../../db/conflict-retry.ts';
import type { Db } from '../../../db/prisma.ts';
import { utcDateTime } from '../../../db/mysql-url.ts';
import { Prisma } from '../../../generated/prisma/client.ts';
import { isUniqueViolation } from '../../../plugins/prisma.ts';
import {
  type CreateResult,
  decodeCursor,
  encodeCursor,
  InvalidCursorError,
  type MessagePage,
  type MessageStore,
  toMessagePage,
  type MessageType,
  type NewMessage,
  normalizeReactions,
  type PageRequest,
  type ReactionKind,
  type RoomSummary,
  type RoomSummaryQuery,
  type StoredMessage,
} from './message-store.ts';

const MAX_ID = 9_223_372_036_854_775_807n;
const ID_PATTERN = /^[1-9][0-9]{0,18}$/;

const withReactions = { reactions: { select: { userId: true, reaction: true } } } as const;

type MessageRow = Prisma.ChatMessageGetPayload<{ include: typeof withReactions }>;

/** What a transaction can read with: the client or the transaction's own handle. */
type Reader = Pick<Db, 'chatMessage'>;

function toStored(row: MessageRow): StoredMessage {
  return {
    id: row.id.toString(),
    roomId: row.roomId,
    userId: row.userId,
    content: row.content,
    messageType: row.messageType as MessageType,
    attachmentUrl: row.attachmentUrl,
    replyTo: row.replyTo,
    clientMessageId: row.clientMessageId,
    isEdited: row.isEdited,
    editedAt: row.editedAt,
    isDeleted: row.isDeleted,
    reactions: normalizeReactions(row.reactions.map((r) => ({ userId: r.userId, reaction: r.reaction as ReactionKind }))),
    createdAt: row.createdAt,
    version: row.version,
  };
}

/** LIKE pattern for "contains text", with the pattern characters of `text` taken literally. */
export function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/**
 * Messages in the MySQL `messages` / `message_reactions` tables (the default without MongoDB).
 * A message's position is its auto-increment id: history, cursors and unread counts all walk
 * the (room_id, id) index.
 *
 * Changes to a message (edit, delete, reaction) each run in one transaction whose first
 * statement is `UPDATE messages SET version = version + 1` on that row: the row lock it takes
 * orders every change of one message (so concurrent reaction toggles can no longer deadlock on
 * the reaction index's gap locks), and the read-back inside the same transaction sees exactly
 * the state that version names.
 */
export class MysqlMessageStore implements MessageStore {
  readonly kind = 'mysql' as const;

  constructor(
    private readonly db: Db,
    /** The pool under `db`: sending, the hottest write, is one plain INSERT on it. */
    private readonly pool: Pool,
  ) {}

  async init(): Promise<void> {}

  async ping(): Promise<void> {
    await this.db.$queryRaw`SELECT 1 FROM messages LIMIT 1`;
  }

  async close(): Promise<void> {}

  isValidId(id: string): boolean {
    return ID_PATTERN.test(id) && BigInt(id) <= MAX_ID;
  }

  sortKey(message: Pick<StoredMessage, 'id'>): string {
    return message.id.padStart(20, '0');
  }

  cursorFor(message: Pick<StoredMessage, 'id'>): string {
    return encodeCursor({ i: message.id });
  }

  /**
   * One INSERT round trip (Prisma's create would add a read-back and a transaction). A repeated
   * (room, sender, client_message_id) hits the unique key and returns the first message.
   */
  async create(input: NewMessage): Promise<CreateResult> {
    const createdAt = new Date();
    try {
      const result = await this.pool.query<{ insertId: bigint | number }>(
        `INSERT INTO messages (room_id, user_id, content, message_type, attachment_url, reply_to, client_message_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [input.roomId, input.userId, input.content, input.messageType, input.attachmentUrl, input.replyTo, input.clientMessageId, utcDateTime(createdAt)],
      );
      const message: StoredMessage = {
        ...input,
        id: result.insertId.toString(),
        isEdited: false,
        editedAt: null,
        isDeleted: false,
        reactions: {},
        createdAt,
        // The column's default: no read-back needed.
        version: 1,
      };
      return { message, created: true };
    } catch (error) {
      if (!isUniqueViolation(error) || input.clientMessageId === null) throw error;
      const first = await this.db.chatMessage.findUnique({
        where: { clientMessageKey: { roomId: input.roomId, userId: input.userId, clientMessageId: input.clientMessageId } },
        include: withReactions,
      });
      if (!first) throw error;
      return { message: toStored(first), created: false };
    }
  }

  async findById(roomId: number, id: string): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    return this.read(this.db, roomId, BigInt(id));
  }

  async page(roomId: number, request: PageRequest): Promise<MessagePage> {
    const before = request.before === undefined ? undefined : this.parseCursor(request.before);
    const rows = await this.db.chatMessage.findMany({
      where: { roomId, ...(before !== undefined ? { id: { lt: before } } : {}) },
      orderBy: { id: 'desc' },
      take: request.limit + 1,
      include: withReactions,
    });
    return toMessagePage(rows.map(toStored), request.limit, (message) => this.cursorFor(message));
  }

  async editContent(roomId: number, id: string, content: string, at: Date): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const messageId = BigInt(id);
    return this.change(roomId, messageId, async (tx) => {
      const changed = await tx.$executeRaw`
        UPDATE messages SET content = ${content}, is_edited = TRUE, edited_at = ${utcDateTime(at)}, version = version + 1
        WHERE id = ${messageId} AND room_id = ${roomId} AND is_deleted = FALSE`;
      return changed > 0;
    });
  }

  async softDelete(roomId: number, id: string, at: Date): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const messageId = BigInt(id);
    const deleted = await this.change(roomId, messageId, async (tx) => {
      const changed = await tx.$executeRaw`
        UPDATE messages SET is_deleted = TRUE, deleted_at = ${utcDateTime(at)}, content = NULL, attachment_url = NULL, version = version + 1
        WHERE id = ${messageId} AND room_id = ${roomId} AND is_deleted = FALSE`;
      return changed > 0;
    });
    // Deleted already (or unknown): as it is.
    return deleted ?? this.findById(roomId, id);
  }

  async toggleReaction(roomId: number, id: string, userId: number, reaction: ReactionKind): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const messageId = BigInt(id);
    return this.change(roomId, messageId, async (tx) => {
      const changed = await tx.$executeRaw`UPDATE messages SET version = version + 1 WHERE id = ${messageId} AND room_id = ${roomId}`;
      if (changed === 0) return false;
      // Under the message's row lock: nobody else toggles on this message until we commit.
      const removed = await tx.messageReaction.deleteMany({ where: { messageId, userId, reaction } });
      if (removed.count === 0) await tx.messageReaction.create({ data: { messageId, userId, reaction } });
      return true;
    });
  }

  async search(roomId: number, text: string, limit: number): Promise<StoredMessage[]> {
    // LOWER() on both sides with a binary collation: case-insensitive, but otherwise exact
    // (utf8mb4_unicode_ci would treat every emoji as equal and ignore accents).
    const hits = await this.db.$queryRaw<{ id: bigint }[]>`
      SELECT id FROM messages
      WHERE room_id = ${roomId} AND is_deleted = false AND content IS NOT NULL
        AND LOWER(content) COLLATE utf8mb4_bin LIKE LOWER(${likeContains(text)}) COLLATE utf8mb4_bin ESCAPE '!'
      ORDER BY id DESC
      LIMIT ${limit}`;
    if (hits.length === 0) return [];
    const rows = await this.db.chatMessage.findMany({
      where: { id: { in: hits.map((hit) => BigInt(hit.id)) } },
      orderBy: { id: 'desc' },
      include: withReactions,
    });
    return rows.map(toStored);
  }

  async summarize(queries: readonly RoomSummaryQuery[]): Promise<Map<number, RoomSummary>> {
    const summaries = new Map<number, RoomSummary>();
    if (queries.length === 0) return summaries;
    const roomIds = [...new Set(queries.map((q) => q.roomId))];

    const [latest, unread] = await Promise.all([
      this.db.chatMessage.groupBy({ by: ['roomId'], where: { roomId: { in: roomIds } }, _max: { id: true } }),
      this.db.chatMessage.groupBy({
        by: ['roomId'],
        where: {
          isDeleted: false,
          OR: queries.map((q) => ({
            roomId: q.roomId,
            userId: { not: q.userId },
            createdAt: { gte: q.since },
            ...(q.lastReadMessageId && this.isValidId(q.lastReadMessageId) ? { id: { gt: BigInt(q.lastReadMessageId) } } : {}),
          })),
        },
        _count: { _all: true },
      }),
    ]);
    const lastIds = latest.flatMap((group) => (group._max.id === null ? [] : [group._max.id]));
    const lastRows = lastIds.length
      ? await this.db.chatMessage.findMany({ where: { id: { in: lastIds } }, include: withReactions })
      : [];
    const lastByRoom = new Map(lastRows.map((row) => [row.roomId, toStored(row)]));
    const unreadByRoom = new Map(unread.map((group) => [group.roomId, group._count._all]));
    for (const q of queries) {
      summaries.set(q.roomId, { lastMessage: lastByRoom.get(q.roomId) ?? null, unreadCount: unreadByRoom.get(q.roomId) ?? 0 });
    }
    return summaries;
  }

  async deleteRoom(roomId: number): Promise<void> {
    await this.db.chatMessage.deleteMany({ where: { roomId } });
  }

  /**
   * One change of one message: `apply` runs first in the transaction (its UPDATE bumps the
   * version and locks the row; false when no row matched), then the message is read back in
   * the same transaction. Null when nothing matched. A deadlock victim is run again.
   */
  private change(roomId: number, messageId: bigint, apply: (tx: Prisma.TransactionClient) => Promise<boolean>): Promise<StoredMessage | null> {
    return retryOnConflict(() =>
      this.db.$transaction(async (tx) => {
        if (!(await apply(tx))) return null;
        return this.read(tx, roomId, messageId);
      }),
    );
  }

  private async read(reader: Reader, roomId: number, messageId: bigint): Promise<StoredMessage | null> {
    const row = await reader.chatMessage.findFirst({ where: { id: messageId, roomId }, include: withReactions });
    return row ? toStored(row) : null;
  }

  private parseCursor(cursor: string): bigint {
    const position = decodeCursor(cursor);
    const id = position.i;
    if (Object.keys(position).length !== 1 || typeof id !== 'string' || !this.isValidId(id)) throw new InvalidCursorError();
    return BigInt(id);
  }
}
