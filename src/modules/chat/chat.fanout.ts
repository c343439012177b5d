import type { FastifyBaseLogger } from 'fastify';
import type { DomainEvent, DomainEventOf } from '../../lib/domain-events.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { RoomChange } from '../rooms/room.events.ts';
import { roomEventFrame, SharedFrame, systemFrame } from './chat.frames.ts';
import { UserEventStream } from './chat-streams.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { RoomJoins } from './room-joins.ts';
import type { RoomRegistry, RoomSubscriber } from './room-registry.ts';

/**
 * Domain events → sockets. One event bus subscription per process; an event from any instance
 * is serialised into its frame once and written to this instance's sockets of that room, so
 * the work per event grows with the local sockets of one room only.
 */
export class ChatFanout {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly deps: {
      events: Pick<EventBus, 'subscribe'>;
      liveRooms: RoomRegistry;
      /** User event streams by room: they receive a room's events without being in it. */
      streamRooms: RoomRegistry;
      connections: ConnectionRegistry;
      joins: RoomJoins;
      log: FastifyBaseLogger;
    },
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.events.subscribe((event) => this.deliver(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private deliver(event: DomainEvent): void {
    switch (event.type) {
      case 'typing':
        return this.broadcast(event.room_id, systemFrame('TYPING', event.room_id, event.user_id, { isTyping: event.is_typing }), undefined, event.user_id);
      case 'room_changed':
        return this.roomChanged(event);
      case 'token_revoked':
        return this.deps.connections.closeRevoked(event.jti);
      case 'notification_changed':
        return this.toUser(event.user_id, JSON.stringify({ type: 'notification', notification: event.notification, unread_count: event.unread_count }));
      case 'notifications_read':
        return this.toUser(
          event.user_id,
          JSON.stringify({ type: 'notifications_read', ids: event.ids, read_at: event.read_at, unread_count: event.unread_count }),
        );
      default: {
        const frame = roomEventFrame(event);
        if (frame === undefined) return;
        const roomId = (event as { room_id: number }).room_id;
        // Nobody needs to hear of their own arrival or departure.
        const except = event.type === 'room_occupancy' ? event.user_id : undefined;
        return this.broadcast(roomId, frame, event.event_id, except);
      }
    }
  }

  /**
   * User streams of new members start following the room; then the room is told; then the
   * sockets and streams of users no longer in it are taken out (all, once deleted).
   */
  private roomChanged(event: DomainEventOf<'room_changed'>): void {
    const { streamRooms, connections } = this.deps;
    if (ARRIVALS.has(event.change)) {
      for (const userId of event.member_ids) {
        for (const session of connections.sessionsOf(userId)) if (session instanceof UserEventStream) streamRooms.join(event.room_id, session);
      }
    }
    const frame = roomEventFrame(event);
    if (frame !== undefined) this.broadcast(event.room_id, frame, event.event_id);
    const gone = usersGone(event);
    if (gone === undefined) return;
    for (const stream of [...streamRooms.connections(event.room_id)]) {
      if (gone === 'everyone' || gone.has(stream.userId)) streamRooms.leave(event.room_id, stream);
    }
    for (const connection of [...this.deps.liveRooms.connections(event.room_id)]) {
      if (gone !== 'everyone' && !gone.has(connection.userId)) continue;
      connection.removedFrom(event.room_id);
      void this.deps.joins.leave(connection, event.room_id).catch((error: unknown) => {
        this.deps.log.warn({ err: error, userId: connection.userId, roomId: event.room_id }, 'leaving a changed room failed');
      });
    }
  }

  /** A frame for one user: their sockets and user streams here (a room stream ignores it). */
  private toUser(userId: number, frame: string): void {
    for (const session of this.deps.connections.sessionsOf(userId)) session.userEvent(frame);
  }

  /** One SharedFrame for all the room's subscribers: the sockets share its encoded bytes. */
  private broadcast(roomId: number, text: string, eventId: string | undefined, exceptUserId?: number): void {
    const frame = new SharedFrame(text);
    deliverTo(this.deps.liveRooms.connections(roomId), roomId, frame, eventId, exceptUserId);
    deliverTo(this.deps.streamRooms.connections(roomId), roomId, frame, eventId, exceptUserId);
  }
}

function deliverTo(subscribers: Iterable<RoomSubscriber>, roomId: number, frame: SharedFrame, eventId: string | undefined, exceptUserId: number | undefined): void {
  for (const subscriber of subscribers) {
    if (subscriber.userId !== exceptUserId) subscriber.deliver(roomId, frame, eventId);
  }
}

const ARRIVALS: ReadonlySet<RoomChange> = new Set(['created', 'member_joined', 'member_added']);

function usersGone(event: DomainEventOf<'room_changed'>): ReadonlySet<number> | 'everyone' | undefined {
  if (event.change === 'deleted') return 'everyone';
  if (event.change === 'member_left' || event.change === 'member_removed') return new Set(event.member_ids);
  return undefined;
}
