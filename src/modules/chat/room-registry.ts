import type { CatchUpBuffer } from './catch-up.ts';
import type { OutgoingFrame, SharedFrame } from './chat.frames.ts';

/**
 * Anything that receives a room's live events: a chat socket, or an SSE stream of the room
 * (`GET /api/messages/stream/:room_id`) or of all a user's rooms (`GET /api/events/stream`).
 */
export interface RoomSubscriber {
  readonly userId: number;
  /** The rooms it is in (kept by RoomRegistry). */
  readonly rooms: Set<number>;
  /** Live frames of rooms it is replaying history for. */
  readonly catchUp: CatchUpBuffer;
  /** False once closing or closed. */
  readonly isOpen: boolean;
  /** Sends one frame (a room event carries its `event_id` inside). */
  send(frame: OutgoingFrame): void;
  /** A live frame of one of its rooms (the same object for every subscriber): held while that room catches up, else sent. */
  deliver(roomId: number, frame: SharedFrame, eventId: string | undefined): void;
  /** The user is no longer a member of the room (left, removed, room deleted). */
  removedFrom(roomId: number): void;
}

export type RoomState = 'active' | 'idle' | 'closed';

interface LiveRoom {
  connections: Set<RoomSubscriber>;
  /** Local connections per user, to tell a user's first join and last leave. */
  perUser: Map<number, number>;
  idleTimer?: NodeJS.Timeout;
}

/**
 * This process's live rooms: room id → local sockets. Fan-out looks a room up here, so the
 * work per event is proportional to the sockets of that room on this instance only.
 * A room whose last local socket leaves turns idle, and is freed after the idle timeout.
 */
export class RoomRegistry {
  private readonly rooms = new Map<number, LiveRoom>();

  constructor(private readonly idleTimeoutMs: number) {}

  /** Adds the connection; `firstForUser` when the user had no other local socket in the room. */
  join(roomId: number, connection: RoomSubscriber): { firstForUser: boolean } {
    const room = this.rooms.get(roomId) ?? this.open(roomId);
    clearTimeout(room.idleTimer);
    room.idleTimer = undefined;
    if (room.connections.has(connection)) return { firstForUser: false };
    room.connections.add(connection);
    const count = room.perUser.get(connection.userId) ?? 0;
    room.perUser.set(connection.userId, count + 1);
    connection.rooms.add(roomId);
    return { firstForUser: count === 0 };
  }

  /** Removes the connection; `lastForUser` when the user has no other local socket there. */
  leave(roomId: number, connection: RoomSubscriber): { lastForUser: boolean; roomEmpty: boolean } {
    const room = this.rooms.get(roomId);
    connection.rooms.delete(roomId);
    if (!room?.connections.delete(connection)) return { lastForUser: false, roomEmpty: false };
    const remaining = (room.perUser.get(connection.userId) ?? 1) - 1;
    if (remaining > 0) room.perUser.set(connection.userId, remaining);
    else room.perUser.delete(connection.userId);
    const roomEmpty = room.connections.size === 0;
    if (roomEmpty) room.idleTimer = setTimeout(() => this.rooms.delete(roomId), this.idleTimeoutMs).unref();
    return { lastForUser: remaining === 0, roomEmpty };
  }

  connections(roomId: number): ReadonlySet<RoomSubscriber> {
    return this.rooms.get(roomId)?.connections ?? EMPTY;
  }

  localUserIds(roomId: number): number[] {
    return [...(this.rooms.get(roomId)?.perUser.keys() ?? [])];
  }

  state(roomId: number): RoomState {
    const room = this.rooms.get(roomId);
    if (!room) return 'closed';
    return room.connections.size > 0 ? 'active' : 'idle';
  }

  /** Rooms with at least one local socket. */
  activeRoomIds(): number[] {
    return [...this.rooms.entries()].filter(([, room]) => room.connections.size > 0).map(([id]) => id);
  }

  get size(): number {
    return this.rooms.size;
  }

  clear(): void {
    for (const room of this.rooms.values()) clearTimeout(room.idleTimer);
    this.rooms.clear();
  }

  private open(roomId: number): LiveRoom {
    const room: LiveRoom = { connections: new Set(), perUser: new Map() };
    this.rooms.set(roomId, room);
    return room;
  }
}

const EMPTY: ReadonlySet<RoomSubscriber> = new Set();
