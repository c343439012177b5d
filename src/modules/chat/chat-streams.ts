import { decodeCursor, encodeCursor } from '../../lib/cursor.ts';
import { sseFrame, type SseWriter } from '../../lib/sse.ts';
import { compareEventIds, isEventId } from '../../plugins/event-history.ts';
import { CatchUpBuffer } from './catch-up.ts';
import { type OutgoingFrame, type SharedFrame, textOf } from './chat.frames.ts';
import type { ChatSession } from './connection-registry.ts';
import type { RoomSubscriber } from './room-registry.ts';

/** The leading `"type"` and (room events) `"event_id"` of a frame built by chat.frames.ts. */
const FRAME_HEAD = /^\{"type":"([a-z_]+)"(?:,"event_id":"(\d+-\d+)")?/;

/** A chat frame as an SSE event: `event:` is the frame's type, `data:` the frame itself. */
function frameAsSse(frame: string, id: string | undefined): string {
  const type = FRAME_HEAD.exec(frame)?.[1] ?? 'message';
  return sseFrame(type, frame, id);
}

/** The event id a room event frame carries, if any. */
export function eventIdOfFrame(frame: string): string | undefined {
  return FRAME_HEAD.exec(frame)?.[2];
}

/**
 * `GET /api/messages/stream/:room_id`: one room's events over SSE, for clients that cannot hold
 * a WebSocket. It joins the room like a socket does (the same RoomJoins, so it counts as being
 * in the room), and each room event's `id:` is its `event_id`, so EventSource's Last-Event-ID
 * resumes exactly where it stopped.
 */
export class RoomEventStream implements RoomSubscriber, ChatSession {
  readonly rooms = new Set<number>();
  readonly catchUp = new CatchUpBuffer();

  constructor(
    readonly userId: number,
    readonly jti: string,
    private readonly writer: SseWriter,
  ) {}

  get isOpen(): boolean {
    return this.writer.isOpen;
  }

  send(frame: OutgoingFrame): void {
    const text = textOf(frame);
    this.writer.write(frameAsSse(text, eventIdOfFrame(text)));
  }

  deliver(roomId: number, frame: SharedFrame, eventId: string | undefined): void {
    if (!this.catchUp.offer(roomId, frame, eventId)) this.writer.write(frameAsSse(frame.text, eventId));
  }

  /** A stream of one room has nothing left to say once its user is out of the room. */
  removedFrom(): void {
    this.writer.end('You are no longer a member of this room');
  }

  userEvent(): void {}

  close(_code: number, reason: string): void {
    this.writer.end(reason);
  }

  ping(): void {}
}

/**
 * Where a user stream stopped, for all rooms at once. Event ids are Redis stream ids, whose
 * milliseconds come from the one Redis clock and grow in the order events are published; the
 * stream sees events in that order. So "every event of every room below millisecond `t`, and at
 * `t` those up to `r[room]`" says exactly what was delivered, in a cursor that stays small.
 * (A Redis clock that jumps backwards could break this order; Redis itself then keeps each
 * room's ids increasing, and the rooms named in `r` stay exact.)
 */
export interface UserCursor {
  t: number;
  r: Record<string, string>;
}

export function encodeUserCursor(cursor: UserCursor): string {
  return encodeCursor({ t: cursor.t, r: JSON.stringify(cursor.r) });
}

/** Null for anything this server did not issue. */
export function decodeUserCursor(value: string): UserCursor | null {
  try {
    const position = decodeCursor(value);
    const { t, r } = position;
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || typeof r !== 'string') return null;
    const rooms: unknown = JSON.parse(r);
    if (typeof rooms !== 'object' || rooms === null || Array.isArray(rooms)) return null;
    const entries = Object.entries(rooms as Record<string, unknown>);
    if (entries.some(([roomId, id]) => !/^[1-9][0-9]{0,9}$/.test(roomId) || typeof id !== 'string' || !isEventId(id))) return null;
    return { t, r: Object.fromEntries(entries) as Record<string, string> };
  } catch {
    return null;
  }
}

/** Moves the cursor past one delivered room event. */
export function advanceUserCursor(cursor: UserCursor, roomId: number, eventId: string): UserCursor {
  const ms = Number(eventId.split('-')[0]);
  if (ms > cursor.t) return { t: ms, r: { [roomId]: eventId } };
  const current = cursor.r[roomId];
  if (current !== undefined && compareEventIds(current, eventId) >= 0) return cursor;
  return { t: cursor.t, r: { ...cursor.r, [roomId]: eventId } };
}

/**
 * `GET /api/events/stream`: everything of mine on one SSE connection: the events of all my rooms
 * (without joining them: being on this stream is not being in a room), my notifications and my
 * friends' presence. Room events carry a cursor as `id:` (see UserCursor) that resumes every
 * room at once.
 */
export class UserEventStream implements RoomSubscriber, ChatSession {
  readonly rooms = new Set<number>();
  readonly catchUp = new CatchUpBuffer();
  /** Friends' presence on this stream. */
  presence: { close(): void } | undefined;

  constructor(
    readonly userId: number,
    readonly jti: string,
    private readonly writer: SseWriter,
    private cursor: UserCursor,
  ) {}

  get isOpen(): boolean {
    return this.writer.isOpen;
  }

  get position(): string {
    return encodeUserCursor(this.cursor);
  }

  /** A frame that is no room event (`reset`, errors). */
  send(frame: OutgoingFrame): void {
    this.emit(textOf(frame), undefined);
  }

  deliver(roomId: number, frame: SharedFrame, eventId: string | undefined): void {
    if (!this.catchUp.offer(roomId, frame, eventId)) this.emit(frame.text, eventId, roomId);
  }

  /** An event of `roomId` replayed from history on resume (not held, whatever is catching up). */
  replayed(roomId: number, frame: string, eventId: string | undefined): void {
    this.emit(frame, eventId, roomId);
  }

  /** The stream stays; it gets nothing more of that room (the room_updated event said why). */
  removedFrom(): void {}

  userEvent(frame: string): void {
    this.emit(frame, undefined);
  }

  /** Raw SSE text (the `connected` event). */
  write(chunk: string): void {
    this.writer.write(chunk);
  }

  close(_code: number, reason: string): void {
    this.writer.end(reason);
  }

  ping(): void {}

  private emit(frame: string, eventId: string | undefined, roomId?: number): void {
    if (eventId !== undefined && roomId !== undefined) this.cursor = advanceUserCursor(this.cursor, roomId, eventId);
    this.writer.write(frameAsSse(frame, eventId === undefined ? undefined : this.position));
  }
}
