import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../../lib/errors.ts';
import type { EventHistory, Recovery } from '../../plugins/event-history.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { RoomService } from '../rooms/room.service.ts';
import { errorFrame, replayFrame } from './chat.frames.ts';
import type { RoomOccupancyStore } from './room-occupancy.store.ts';
import type { RoomRegistry, RoomSubscriber } from './room-registry.ts';

/**
 * Puts a socket in a room and takes it out, keeping the three records of that in step: this
 * process's room registry (for fan-out), the occupancy store (who is connected, over all
 * instances) and the USER_CONNECTED / USER_DISCONNECTED announcement to the room.
 */
export class RoomJoins {
  constructor(
    private readonly deps: {
      memberships: Pick<RoomService, 'cachedMembership'>;
      liveRooms: RoomRegistry;
      occupancy: RoomOccupancyStore;
      events: Pick<EventBus, 'publish'>;
      history: Pick<EventHistory, 'after'>;
    },
  ) {}

  /**
   * Answers `joined`, or UNAUTHORIZED for a non-member; any other failure rejects.
   *
   * The socket may close during any await here, and its close handler (leaveAll) only takes it
   * out of the rooms it is in at that moment. So the join checks after each await: closed
   * before it entered the room, it stops; closed after, it leaves again itself (a no-op when
   * leaveAll already did). Otherwise a dead socket would stay in the room registry, its lease
   * renewed forever, and the room would never go idle.
   */
  async join(connection: RoomSubscriber, roomId: number, log: FastifyBaseLogger, since?: string): Promise<void> {
    if (!(await this.isMember(connection.userId, roomId))) {
      connection.send(errorFrame('UNAUTHORIZED', `You are not a member of room ${roomId}`));
      return;
    }
    const { occupancy } = this.deps;
    if (!isOpen(connection)) return;
    const wasConnected = (await occupancy.connectedUserIds(roomId)).includes(connection.userId);
    if (!isOpen(connection)) return;
    // Live events wait from here on while history is read: none is lost between the two.
    if (since !== undefined) connection.catchUp.hold(roomId);
    const { firstForUser } = this.deps.liveRooms.join(roomId, connection);
    try {
      if (firstForUser) await occupancy.userJoined(roomId, connection.userId);
      if (!isOpen(connection)) return this.undoJoin(connection, roomId, log);
      const connectedUserIds = await occupancy.connectedUserIds(roomId);
      if (!isOpen(connection)) return this.undoJoin(connection, roomId, log);
      const recovered = since === undefined ? false : await this.replay(connection, roomId, since, log);
      connection.send(JSON.stringify({ type: 'joined', room_id: roomId, online_user_ids: connectedUserIds, recovered }));
    } finally {
      // Whatever happened above, the room is live for this socket from now on.
      for (const held of connection.catchUp.release(roomId, undefined)) connection.send(held.frame);
    }
    if (!wasConnected) await this.announce(roomId, connection.userId, 'USER_CONNECTED');
    // Closed while USER_CONNECTED went out: leaving again announces USER_DISCONNECTED after it.
    if (!isOpen(connection)) return this.undoJoin(connection, roomId, log);
    log.debug({ roomId }, 'joined room');
  }

  /**
   * Sends the room's events after `since`, then the live ones that arrived meanwhile (without
   * those the replay gave), and tells whether it could; `reset` when history no longer covers
   * `since` (or Redis could not be read), and the client refetches over REST.
   */
  private async replay(connection: RoomSubscriber, roomId: number, since: string, log: FastifyBaseLogger): Promise<boolean> {
    let recovery: Recovery;
    try {
      recovery = await this.deps.history.after(roomId, since);
    } catch (error) {
      log.warn({ err: error, roomId }, 'could not read the room history; the client is told to reset');
      recovery = { kind: 'reset' };
    }
    if (recovery.kind === 'reset') {
      connection.send(JSON.stringify({ type: 'reset', room_id: roomId }));
      return false;
    }
    let upTo = since;
    for (const event of recovery.events) {
      if (event.event_id !== undefined) upTo = event.event_id;
      const frame = replayFrame(event, connection.userId);
      if (frame !== undefined) connection.send(frame);
    }
    for (const held of connection.catchUp.release(roomId, upTo)) connection.send(held.frame);
    return true;
  }

  /** The socket closed while it was joining `roomId`: take it out again (if leaveAll has not). */
  private async undoJoin(connection: RoomSubscriber, roomId: number, log: FastifyBaseLogger): Promise<void> {
    log.debug({ roomId }, 'socket closed while joining; left the room again');
    await this.leave(connection, roomId);
  }

  /** A no-op for a room the socket is not in. */
  async leave(connection: RoomSubscriber, roomId: number): Promise<void> {
    connection.catchUp.drop(roomId);
    if (!connection.rooms.has(roomId)) return;
    const { lastForUser, roomEmpty } = this.deps.liveRooms.leave(roomId, connection);
    if (!lastForUser) return;
    await this.deps.occupancy.userLeft(roomId, connection.userId, true, roomEmpty);
    // The user may still be connected to the room through another instance.
    const stillConnected = (await this.deps.occupancy.connectedUserIds(roomId)).includes(connection.userId);
    if (!stillConnected) await this.announce(roomId, connection.userId, 'USER_DISCONNECTED');
  }

  /** Leaves every room of a closed socket; never rejects (a failure is logged per room). */
  async leaveAll(connection: RoomSubscriber, log: FastifyBaseLogger): Promise<void> {
    for (const roomId of [...connection.rooms]) {
      await this.leave(connection, roomId).catch((error: unknown) => log.warn({ err: error, roomId }, 'leaving room on close failed'));
    }
  }

  /** Clean shutdown: frees every live room and removes this instance from the occupancy store. */
  async forgetAll(): Promise<void> {
    const roomIds = this.deps.liveRooms.activeRoomIds();
    this.deps.liveRooms.clear();
    // Redis may be gone already; this instance's leases then expire by themselves.
    await this.deps.occupancy.forgetInstance(roomIds).catch(() => {});
  }

  /** False when the room service refuses (unknown room, not a member); a database failure rejects. */
  private async isMember(userId: number, roomId: number): Promise<boolean> {
    try {
      await this.deps.memberships.cachedMembership(userId, roomId);
      return true;
    } catch (error) {
      if (error instanceof AppError) return false;
      throw error;
    }
  }

  private announce(roomId: number, userId: number, event: 'USER_CONNECTED' | 'USER_DISCONNECTED'): Promise<void> {
    return this.deps.events.publish({ type: 'room_occupancy', room_id: roomId, user_id: userId, event });
  }
}

/** False once the subscriber is closing or closed: its close handler has run or is about to. */
function isOpen(connection: RoomSubscriber): boolean {
  return connection.isOpen;
}
