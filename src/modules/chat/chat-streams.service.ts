import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { DomainEvent } from '../../lib/domain-events.ts';
import { sseFrame, sseHeaders, SseWriter } from '../../lib/sse.ts';
import type { AuthContext } from '../../plugins/auth.ts';
import { compareEventIds, type EventHistory, type Recovery } from '../../plugins/event-history.ts';
import type { PresenceHub } from '../presence/presence.hub.ts';
import type { RoomService } from '../rooms/room.service.ts';
import { CONNECTION_LIMITS } from './chat.connection.ts';
import { replayFrame } from './chat.frames.ts';
import { decodeUserCursor, RoomEventStream, type UserCursor, UserEventStream } from './chat-streams.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { RoomJoins } from './room-joins.ts';
import type { RoomRegistry } from './room-registry.ts';
import { FramePresenceTransport } from './socket-presence.ts';

export interface ChatStreamsDeps {
  joins: RoomJoins;
  connections: ConnectionRegistry;
  /** User event streams by room (they follow rooms without joining them). */
  streamRooms: RoomRegistry;
  history: Pick<EventHistory, 'after' | 'fromTime' | 'nowMs'>;
  rooms: Pick<RoomService, 'cachedMembership' | 'roomIdsOf'>;
  presence: Pick<PresenceHub, 'subscribe'>;
  keepAliveMs: number;
  log: FastifyBaseLogger;
}

interface Replayed {
  roomId: number;
  event: DomainEvent;
}

/**
 * The SSE fallback of chat (contract: Events and recovery): a room's events, or everything of
 * mine, on an EventSource that resumes by itself through Last-Event-ID with the recovery rules
 * of `join` with `since`. Both are chat sessions like sockets: a revoked token, a deactivated
 * account, an expired token or shutdown ends them.
 */
export class ChatStreams {
  constructor(private readonly deps: ChatStreamsDeps) {}

  /** `GET /api/messages/stream/:room_id`. Membership is checked before the first byte (403/404 JSON). */
  async openRoom(auth: AuthContext, roomId: number, lastEventId: string | undefined, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.deps.rooms.cachedMembership(auth.userId, roomId);
    const log = request.log.child({ userId: auth.userId, roomId });
    const writer = this.startWriter(auth, request, reply);
    const stream = new RoomEventStream(auth.userId, auth.jti, writer);
    this.track(stream, writer, () => void this.deps.joins.leaveAll(stream, log));
    writer.write(sseFrame('connected', { room_id: roomId }));
    await this.deps.joins.join(stream, roomId, log, lastEventId);
  }

  /** `GET /api/events/stream`: all my rooms, notifications and presence. */
  async openUser(auth: AuthContext, lastEventId: string | undefined, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const log = request.log.child({ userId: auth.userId });
    const resumeFrom = lastEventId === undefined ? null : decodeUserCursor(lastEventId);
    const [roomIds, nowMs] = await Promise.all([this.deps.rooms.roomIdsOf(auth.userId), this.deps.history.nowMs()]);
    const writer = this.startWriter(auth, request, reply);
    const stream = new UserEventStream(auth.userId, auth.jti, writer, resumeFrom ?? { t: nowMs, r: {} });
    const { streamRooms } = this.deps;
    this.track(stream, writer, () => {
      for (const roomId of [...stream.rooms]) streamRooms.leave(roomId, stream);
      stream.presence?.close();
    });
    // Live events of every room wait from here on while history is read.
    for (const roomId of roomIds) {
      if (resumeFrom) stream.catchUp.hold(roomId);
      streamRooms.join(roomId, stream);
    }
    writer.write(sseFrame('connected', { room_ids: roomIds, recovered: resumeFrom !== null }, stream.position));
    if (lastEventId !== undefined && !resumeFrom) {
      // A cursor this server did not issue: every room starts over.
      for (const roomId of roomIds) stream.send(JSON.stringify({ type: 'reset', room_id: roomId }));
    }
    if (resumeFrom) await this.resume(stream, roomIds, resumeFrom, log);
    const presence = await this.deps.presence.subscribe(auth, new FramePresenceTransport(stream));
    if (stream.isOpen) stream.presence = presence;
    else presence.close();
  }

  /**
   * Replays every room's events after the cursor in one global order (by event id, the order
   * they were published), `reset` for rooms whose history no longer covers it, then lets the
   * held live events through.
   */
  private async resume(stream: UserEventStream, roomIds: readonly number[], cursor: UserCursor, log: FastifyBaseLogger): Promise<void> {
    const recoveries = await Promise.all(roomIds.map((roomId) => this.recover(roomId, cursor, log)));
    const replayed: Replayed[] = [];
    const lastReplayed = new Map<number, string>();
    recoveries.forEach((recovery, i) => {
      const roomId = roomIds[i]!;
      if (recovery.kind === 'reset') stream.send(JSON.stringify({ type: 'reset', room_id: roomId }));
      else for (const event of recovery.events) replayed.push({ roomId, event });
    });
    replayed.sort((x, y) => compareEventIds(x.event.event_id ?? '0-0', y.event.event_id ?? '0-0'));
    for (const { roomId, event } of replayed) {
      if (event.event_id !== undefined) lastReplayed.set(roomId, event.event_id);
      const frame = replayFrame(event, stream.userId);
      if (frame !== undefined) stream.replayed(roomId, frame, event.event_id);
    }
    for (const roomId of roomIds) {
      for (const held of stream.catchUp.release(roomId, lastReplayed.get(roomId))) stream.deliver(roomId, held.frame, held.eventId);
    }
  }

  private async recover(roomId: number, cursor: UserCursor, log: FastifyBaseLogger): Promise<Recovery> {
    const exact = cursor.r[roomId];
    try {
      // Rooms the cursor does not name: every event from millisecond t on is new to the client.
      return exact === undefined ? await this.deps.history.fromTime(roomId, cursor.t) : await this.deps.history.after(roomId, exact);
    } catch (error) {
      log.warn({ err: error, roomId }, 'could not read the room history; the client is told to reset');
      return { kind: 'reset' };
    }
  }

  private startWriter(auth: AuthContext, request: FastifyRequest, reply: FastifyReply): SseWriter {
    const writer = new SseWriter(reply.raw, {
      keepAliveMs: this.deps.keepAliveMs,
      maxBufferedBytes: CONNECTION_LIMITS.maxBufferedBytes,
      expiresAt: auth.expiresAt,
    });
    reply.hijack();
    writer.start(sseHeaders(request, reply));
    return writer;
  }

  /** A session from now until the stream ends. */
  private track(stream: RoomEventStream | UserEventStream, writer: SseWriter, onEnd: () => void): void {
    this.deps.connections.add(stream);
    writer.onEnd = () => {
      this.deps.connections.remove(stream);
      onEnd();
    };
    if (!writer.isOpen) writer.end();
  }
}
