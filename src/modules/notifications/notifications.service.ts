import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { ConcurrencyLimit, QueueFullError } from '../../lib/concurrency-limit.ts';
import { decodeCursor, encodeCursor, InvalidCursorError, invalidBeforeCursor } from '../../lib/cursor.ts';
import type { DomainEvent, DomainEventOf } from '../../lib/domain-events.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { MessageView } from '../rooms/room-message.schemas.ts';
import type { RoomService } from '../rooms/room.service.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import { mentionedUsernames, type MessagePlan, planMessageNotifications, previewOf, type Recipient } from './notification.rules.ts';
import type { NotificationPageView, NotificationView, ReadRequest } from './notifications.schemas.ts';
import type { MessageNotificationRow, Notification, NotificationStore, PagePosition } from './notifications.store.ts';

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
  rooms: Pick<RoomService, 'memberSettingsOf' | 'unreadCount'>;
  relationships: Pick<RelationshipService, 'blockedPairs' | 'isBlockedEitherWay'>;
  redis: Pick<Redis, 'set'>;
  events: Pick<EventBus, 'publishAfterCommit' | 'publishMany'>;
  log: FastifyBaseLogger;
}

interface LogContext {
  eventType: DomainEvent['type'];
  roomId?: number;
  userId?: number;
}

const NOBODY_BLOCKED = () => false;

/** The members some messages could notify at all: those named, and those who neither muted the room nor are in it. */
function possibleRecipients(messages: readonly MessageView[], members: readonly Recipient[], connected: ReadonlySet<number>): number[] {
  const named = new Set(messages.flatMap((message) => [...mentionedUsernames(message.content)]));
  return members
    .filter((member) => (!member.muted && !connected.has(member.userId)) || named.has(member.username.toLowerCase()))
    .map((member) => member.userId);
}

/** The rows a plan writes: a mention per named member, a count per member's room notification. */
function rowsOf(plan: MessagePlan): MessageNotificationRow[] {
  const row = (userId: number, type: MessageNotificationRow['type'], message: MessageView, count: number): MessageNotificationRow => ({
    userId,
    type,
    actorId: message.user_id,
    messageId: message.id,
    preview: previewOf(message),
    count,
    createdAt: new Date(message.created_at),
  });
  return [
    ...plan.mentions.map(({ userId, message }) => row(userId, 'mention', message, 1)),
    ...plan.counted.map(({ userId, newest, count }) => row(userId, 'message', newest, count)),
  ];
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
  /** Per room, messages this process published and has not handled yet (see drainMessages). */
  private pendingMessages = new Map<number, MessageView[]>();
  private pendingCount = 0;
  private draining = false;

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
    const ids = 'all' in request ? 'all' : await this.deps.store.markRead(userId, request.ids, at);
    const changed = ids === 'all' ? (await this.deps.store.markAllRead(userId, at)) > 0 : ids.length > 0;
    const unreadCount = await this.unreadCountOf(userId);
    if (changed) {
      // The bus logs a failed publish with the event's user_id.
      await this.deps.events.publishAfterCommit(
        { type: 'notifications_read', user_id: userId, ids, read_at: at.toISOString(), unread_count: unreadCount },
        this.deps.log,
      );
    }
    return { unread_count: unreadCount };
  }

  // ---- domain events -------------------------------------------------------------------------

  /**
   * Takes the message events this process published: each message is stored and published by
   * one instance, so that instance alone raises its notifications (no claim in Redis, nothing
   * for the others to do per message). A process that dies between publishing and writing loses
   * those notifications, as one that dies between storing and publishing loses the event: at
   * most once, never twice.
   */
  handleOwn(event: DomainEvent): void {
    if (event.type === 'message_created') this.queueMessage(event.room_id, event.message);
  }

  /** Takes every domain event this process receives; the ones that raise notifications are handled in the background. */
  handle(event: DomainEvent): void {
    switch (event.type) {
      case 'read_updated':
        this.run(() => this.onReadUpdated(event), { eventType: event.type, roomId: event.room_id, userId: event.user_id });
        break;
      case 'friend_request_changed':
        this.run(() => this.onFriendRequest(event), { eventType: event.type, userId: event.requester_id });
        break;
    }
  }

  /** Resolves once the events taken so far are handled (at shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs `task` when a slot is free; failures are logged, never thrown. */
  private run(task: () => Promise<void>, context: LogContext): void {
    const running = this.work
      .run(task)
      .catch((error: unknown) => {
        if (!(error instanceof QueueFullError)) {
          this.deps.log.error({ err: error, ...context }, 'raising notifications failed');
          return;
        }
        this.deps.log.warn(context, 'notification work queue full: event dropped');
      })
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  private queueMessage(roomId: number, message: MessageView): void {
    if (message.message_type === 'system') return;
    if (this.pendingCount >= MAX_QUEUED) {
      this.deps.log.warn({ eventType: 'message_created', roomId }, 'notification work queue full: event dropped');
      return;
    }
    const waiting = this.pendingMessages.get(roomId);
    if (waiting) waiting.push(message);
    else this.pendingMessages.set(roomId, [message]);
    this.pendingCount += 1;
    if (this.draining) return;
    this.draining = true;
    // The rest of this tick's messages (a stored group) join the first batch.
    const running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drainMessages())
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /**
   * Handles the waiting messages, of every room, as one batch, then those that arrived
   * meanwhile as the next, until none waits: batches grow with the load, like the group commit
   * that stored them, and batches never write the same room's rows side by side.
   */
  private async drainMessages(): Promise<void> {
    while (this.pendingMessages.size > 0) {
      const batch = this.pendingMessages;
      this.pendingMessages = new Map();
      this.pendingCount = 0;
      await this.onMessages(batch).catch((error: unknown) => {
        this.deps.log.error({ err: error, eventType: 'message_created', roomIds: [...batch.keys()] }, 'raising notifications failed');
      });
    }
    this.draining = false;
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
   * A batch of messages of any rooms: one membership query for all its rooms, one presence
   * lookup per room (pipelined), one block lookup for all the members that could be notified
   * (none when nobody could), then each room's write, so a flood costs
   * little more than a single message and many quiet rooms little more than one.
   */
  private async onMessages(batch: ReadonlyMap<number, readonly MessageView[]>): Promise<void> {
    const membersOf = await this.deps.rooms.memberSettingsOf([...batch.keys()]);
    const rooms = [...batch].filter(([roomId]) => (membersOf.get(roomId)?.length ?? 0) >= 2);
    if (rooms.length === 0) return;
    const connected = await Promise.all(rooms.map(([roomId]) => this.connectedTo(roomId)));
    const candidates = rooms.flatMap(([roomId, messages], i) => possibleRecipients(messages, membersOf.get(roomId)!, connected[i]!));
    // Blocks matter only between a sender and someone the rules could notify; often nobody (everyone is in the room).
    const senders = [...new Set(rooms.flatMap(([, messages]) => messages.map((message) => message.user_id)))];
    const isBlocked = candidates.length === 0 ? NOBODY_BLOCKED : await this.deps.relationships.blockedPairs(senders, [...new Set(candidates)]);
    await Promise.all(
      rooms.map(([roomId, messages], i) => {
        const plan = planMessageNotifications(messages, membersOf.get(roomId)!, { isBlocked, connected: connected[i]! });
        if (plan.mentions.length === 0 && plan.counted.length === 0) return undefined;
        return this.work.run(() => this.writeRoom(roomId, messages, plan)).catch((error: unknown) => {
          this.deps.log.error({ err: error, eventType: 'message_created', roomId }, 'raising notifications failed');
        });
      }),
    );
  }

  /** One room's share of a batch: its rows written, then each changed notification published. */
  private async writeRoom(roomId: number, messages: readonly MessageView[], plan: MessagePlan): Promise<void> {
    await this.deps.store.recordMessages(roomId, rowsOf(plan));
    const counted = plan.counted.map((entry) => entry.userId);
    await this.publishChanged(await this.deps.store.changedByMessages(roomId, messages.map((message) => message.id), counted));
  }

  /** Who has a socket joined to the room; when that cannot be told, nobody (better one notification too many than none). */
  private async connectedTo(roomId: number): Promise<Set<number>> {
    try {
      return new Set(await this.roomPresence(roomId));
    } catch (error) {
      this.deps.log.warn({ err: error, roomId }, 'room presence unknown: notifying every member who has not muted the room');
      return new Set();
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

  /**
   * One `notification_changed` per notification, each with its recipient's unread count (one
   * query for all), all in one publication. A failure is logged, never thrown: the rows are written.
   */
  private async publishChanged(rows: readonly Notification[]): Promise<void> {
    if (rows.length === 0) return;
    const unread = await this.deps.store.unreadCounts([...new Set(rows.map((row) => row.userId))]);
    const events = rows.map(
      (row): DomainEventOf<'notification_changed'> => ({
        type: 'notification_changed',
        user_id: row.userId,
        notification: toNotificationView(row),
        unread_count: unread.get(row.userId) ?? 0,
      }),
    );
    await this.deps.events.publishMany(events).catch((error: unknown) => {
      const userIds = rows.map((row) => row.userId);
      this.deps.log.error({ err: error, eventType: 'notification_changed', roomId: rows[0]?.roomId ?? undefined, userIds }, 'failed to publish a domain event');
    });
  }

  private async unreadCountOf(userId: number): Promise<number> {
    return (await this.deps.store.unreadCounts([userId])).get(userId) ?? 0;
  }
}
