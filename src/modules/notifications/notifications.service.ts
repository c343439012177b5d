import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { ConcurrencyLimit, QueueFullError } from '../../lib/concurrency-limit.ts';
import { decodeCursor, encodeCursor, InvalidCursorError, invalidBeforeCursor } from '../../lib/cursor.ts';
import type { DomainEvent, DomainEventOf } from '../../lib/domain-events.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { MemberSettings, RoomService } from '../rooms/room.service.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import { mentionedUsernames, previewOf } from './notification.content.ts';
import type { NotificationPageView, NotificationView, ReadRequest } from './notifications.schemas.ts';
import type { Notification, NotificationStore, PagePosition } from './notifications.store.ts';

/** Who has a socket joined to a room, over all instances (the chat module knows). */
export type RoomPresence = (roomId: number) => Promise<readonly number[]>;

const NOBODY_CONNECTED: RoomPresence = async () => [];

/** How long a claimed source event stays claimed: far longer than it takes to reach every instance. */
const CLAIM_TTL_S = 86_400;
/** Events handled at once per process (each takes a few queries), and how many may wait. */
const CONCURRENCY = 4;
const MAX_QUEUED = 10_000;

export interface NotificationServiceDeps {
  store: NotificationStore;
  rooms: Pick<RoomService, 'memberSettings' | 'unreadCount'>;
  relationships: Pick<RelationshipService, 'blockedAmong' | 'isBlockedEitherWay'>;
  redis: Pick<Redis, 'set'>;
  events: Pick<EventBus, 'publishAfterCommit'>;
  log: FastifyBaseLogger;
}

export function toNotificationView(row: Notification): NotificationView {
  return {
    id: Number(row.id),
    type: row.type,
    actor_id: row.actorId,
    room_id: row.roomId,
    message_id: row.messageId,
    preview: row.preview,
    count: row.count,
    created_at: row.createdAt.toISOString(),
    read_at: row.readAt?.toISOString() ?? null,
  };
}

const cursorOf = (row: Notification) => encodeCursor({ c: row.createdAt.getTime(), i: Number(row.id) });

function positionOf(cursor: string): PagePosition {
  try {
    const { c, i, ...rest } = decodeCursor(cursor);
    const valid = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
    if (Object.keys(rest).length > 0 || !valid(c) || !valid(i)) throw new InvalidCursorError();
    return { createdAt: new Date(c), id: BigInt(i) };
  } catch (error) {
    if (error instanceof InvalidCursorError) throw invalidBeforeCursor();
    throw error;
  }
}

/**
 * Notifications: raised from other modules' domain events by the rules of the contract, listed
 * and marked read over REST; every change is published (`notification_changed`,
 * `notifications_read`) for the chat module to push live.
 */
export class NotificationService {
  private roomPresence: RoomPresence = NOBODY_CONNECTED;
  private readonly work = new ConcurrencyLimit(CONCURRENCY, MAX_QUEUED);
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: NotificationServiceDeps) {}

  /** The chat module tells which users have a socket joined to a room; until then nobody has. */
  useRoomPresence(provider: RoomPresence): void {
    this.roomPresence = provider;
  }

  // ---- REST ----------------------------------------------------------------------------------

  async list(userId: number, query: { unread_only: boolean; before?: string | undefined; limit: number }): Promise<NotificationPageView> {
    const before = query.before === undefined ? undefined : positionOf(query.before);
    const [page, unreadCount] = await Promise.all([
      this.deps.store.page(userId, { unreadOnly: query.unread_only, before, limit: query.limit }),
      this.unreadCountOf(userId),
    ]);
    const last = page.rows.at(-1);
    return {
      notifications: page.rows.map(toNotificationView),
      next_cursor: page.hasMore && last ? cursorOf(last) : null,
      has_more: page.hasMore,
      unread_count: unreadCount,
    };
  }

  /** Marks my notifications read (ids of anyone else's are ignored, as are read ones). */
  async markRead(userId: number, request: ReadRequest): Promise<{ unread_count: number }> {
    const at = new Date();
    const [ids, changed]: [number[] | 'all', boolean] =
      'all' in request ? ['all', (await this.deps.store.markAllRead(userId, at)) > 0] : await this.markSome(userId, request.ids, at);
    const unreadCount = await this.unreadCountOf(userId);
    if (changed) {
      const log = this.deps.log.child({ userId });
      await this.deps.events.publishAfterCommit({ type: 'notifications_read', user_id: userId, ids, read_at: at.toISOString(), unread_count: unreadCount }, log);
    }
    return { unread_count: unreadCount };
  }

  private async markSome(userId: number, ids: readonly number[], at: Date): Promise<[number[], boolean]> {
    const marked = await this.deps.store.markRead(userId, ids, at);
    return [marked, marked.length > 0];
  }

  // ---- domain events -------------------------------------------------------------------------

  /** Takes every domain event this process receives; the ones that raise notifications are handled in the background. */
  handle(event: DomainEvent): void {
    const task = this.taskFor(event);
    if (!task) return;
    const running = this.work
      .run(task)
      .catch((error: unknown) => {
        const context = { eventType: event.type, ...logContext(event) };
        if (error instanceof QueueFullError) this.deps.log.warn(context, 'notification work queue full: event dropped');
        else this.deps.log.error({ err: error, ...context }, 'raising notifications failed');
      })
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /** Resolves once the events taken so far are handled (at shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private taskFor(event: DomainEvent): (() => Promise<void>) | null {
    switch (event.type) {
      case 'message_created':
        return () => this.onMessageCreated(event);
      case 'read_updated':
        return () => this.onReadUpdated(event);
      case 'friend_request_changed':
        return () => this.onFriendRequest(event);
      default:
        return null;
    }
  }

  /**
   * Domain events reach every instance (pub/sub), and each would raise the same notifications:
   * the first instance to set the source event's key (SET NX) handles it, the others skip it.
   * An instance that dies between claiming and writing loses those notifications, as the bus
   * loses events published while an instance is away: at most once, never twice.
   */
  private async claim(source: string): Promise<boolean> {
    return (await this.deps.redis.set(`notify:${source}`, '1', 'EX', CLAIM_TTL_S, 'NX')) === 'OK';
  }

  /**
   * A message: a `mention` for each member it names (muted or not, connected or not), and for
   * the other members who have not muted the room and have no socket joined to it, their
   * room's `message` notification. Nothing for the sender, nor for members blocked either way.
   */
  private async onMessageCreated({ room_id: roomId, message }: DomainEventOf<'message_created'>): Promise<void> {
    if (message.message_type === 'system' || !(await this.claim(`message_created:${message.id}`))) return;
    const recipients = await this.recipientsOf(roomId, message.user_id);
    if (recipients.length === 0) return;
    const named = mentionedUsernames(message.content);
    const mentioned = recipients.filter((member) => named.has(member.username.toLowerCase())).map((member) => member.userId);
    // A mention already tells them; the same message does not count in their room's notification too.
    const unmuted = recipients.filter((member) => !member.muted && !mentioned.includes(member.userId)).map((member) => member.userId);
    const away = await this.notConnected(roomId, unmuted);
    if (mentioned.length === 0 && away.length === 0) return;
    const source = { roomId, actorId: message.user_id, messageId: message.id, preview: previewOf(message), createdAt: new Date(message.created_at) };
    await this.deps.store.recordMessage(source, mentioned, away);
    await this.publishChanged(await this.deps.store.changedByMessage(roomId, message.id, away));
  }

  /** The room's members other than the sender, without those blocked either way (one query each). */
  private async recipientsOf(roomId: number, senderId: number): Promise<MemberSettings[]> {
    const others = (await this.deps.rooms.memberSettings(roomId)).filter((member) => member.userId !== senderId);
    if (others.length === 0) return [];
    const blocked = await this.deps.relationships.blockedAmong(senderId, others.map((member) => member.userId));
    return others.filter((member) => !blocked.has(member.userId));
  }

  /** Those of `userIds` with no socket joined to the room; when that cannot be told, all of them (better one notification too many). */
  private async notConnected(roomId: number, userIds: number[]): Promise<number[]> {
    if (userIds.length === 0) return [];
    try {
      const connected = new Set(await this.roomPresence(roomId));
      return userIds.filter((userId) => !connected.has(userId));
    } catch (error) {
      this.deps.log.warn({ err: error, roomId }, 'room presence unknown: notifying every member who is not muted');
      return userIds;
    }
  }

  /**
   * I read a room: once nothing is unread in it, its `message` notification is read too. The
   * notification is read before the unread count, so a message arriving in between either is
   * counted (nothing marked) or moves the notification's message_id (the conditional update
   * leaves it unread).
   */
  private async onReadUpdated({ room_id: roomId, user_id: userId, message_id: messageId }: DomainEventOf<'read_updated'>): Promise<void> {
    if (!(await this.claim(`read_updated:${roomId}:${userId}:${messageId}`))) return;
    const open = await this.deps.store.unreadMessageNotification(userId, roomId);
    if (!open || (await this.deps.rooms.unreadCount(userId, roomId)) !== 0) return;
    const read = await this.deps.store.markReadUnlessBumped(open, new Date());
    if (read) await this.publishChanged([read]);
  }

  /** `friend_request` to the addressee when asked, `friend_accepted` to the requester when accepted. */
  private async onFriendRequest(event: DomainEventOf<'friend_request_changed'>): Promise<void> {
    const accepted = event.status === 'accepted';
    const [userId, actorId] = accepted ? [event.requester_id, event.addressee_id] : [event.addressee_id, event.requester_id];
    // The row's id and the time of this change name one request (or acceptance) of one pair.
    if (!(await this.claim(`friend_request_changed:${event.status}:${event.friendship_id}:${event.at}`))) return;
    if (await this.deps.relationships.isBlockedEitherWay(userId, actorId)) return;
    const type = accepted ? 'friend_accepted' : 'friend_request';
    await this.publishChanged([await this.deps.store.insert({ userId, type, actorId, createdAt: new Date(event.at) })]);
  }

  /** One `notification_changed` per notification, each with its recipient's unread count (one query for all). */
  private async publishChanged(rows: readonly Notification[]): Promise<void> {
    if (rows.length === 0) return;
    const unread = await this.deps.store.unreadCounts([...new Set(rows.map((row) => row.userId))]);
    await Promise.all(
      rows.map((row) =>
        this.deps.events.publishAfterCommit(
          { type: 'notification_changed', user_id: row.userId, notification: toNotificationView(row), unread_count: unread.get(row.userId) ?? 0 },
          this.deps.log.child({ userId: row.userId, ...(row.roomId === null ? {} : { roomId: row.roomId }) }),
        ),
      ),
    );
  }

  private async unreadCountOf(userId: number): Promise<number> {
    return (await this.deps.store.unreadCounts([userId])).get(userId) ?? 0;
  }
}

/** The room and user a log line about this event should carry. */
function logContext(event: DomainEvent): { roomId?: number; userId?: number } {
  switch (event.type) {
    case 'message_created':
      return { roomId: event.room_id, userId: event.message.user_id };
    case 'read_updated':
      return { roomId: event.room_id, userId: event.user_id };
    case 'friend_request_changed':
      return { userId: event.requester_id };
    default:
      return {};
  }
}
