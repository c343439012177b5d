import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { DeadlineWheel } from '../../lib/deadline-wheel.ts';
import { AccountSweep } from '../../plugins/account-sweep.ts';
import type { TokenService } from '../../plugins/auth.ts';
import type { PresenceService } from '../presence/presence.service.ts';
import { ChatConnection, CLOSE_TOKEN_INVALID } from './chat.connection.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { RoomOccupancyStore } from './room-occupancy.store.ts';
import type { RoomRegistry } from './room-registry.ts';

export interface UpkeepTimers {
  /** Ping every socket this often; one that did not answer the previous ping is cut. */
  pingIntervalMs: number;
  /** Refresh presence of connected users and room leases this often. */
  keepAliveIntervalMs: number;
  /** Close sockets of deactivated or deleted users within this (default: AccountSweep's period). */
  accountCheckIntervalMs?: number;
}

/**
 * What keeps open sockets honest while nothing is sent: ping/pong and dropping dead sockets,
 * closing a socket when its token expires or is found revoked or its user deactivated or
 * deleted, keeping connected users online and renewing this instance's room leases.
 */
export class ChatUpkeep {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly accountSweep: AccountSweep;
  /** Token expiries of every socket on one timer (closes with 4001 at `exp`). */
  private readonly expiries = new DeadlineWheel<ChatConnection>((connection) => connection.close(CLOSE_TOKEN_INVALID, 'Token expired'));

  constructor(
    private readonly deps: {
      connections: ConnectionRegistry;
      liveRooms: RoomRegistry;
      occupancy: RoomOccupancyStore;
      presence: Pick<PresenceService, 'heartbeat' | 'refreshMany'>;
      tokens: Pick<TokenService, 'revokedAmong' | 'inactiveAmong'>;
      log: FastifyBaseLogger;
    },
    private readonly intervals: UpkeepTimers,
  ) {
    const { connections } = deps;
    this.accountSweep = new AccountSweep({
      label: 'sockets',
      userIds: () => connections.userIds(),
      closeSessionsOf: (userIds) => {
        const inactive = new Set(userIds);
        for (const connection of [...connections.connections()]) {
          if (inactive.has(connection.userId)) connection.close(CLOSE_TOKEN_INVALID, 'Account deactivated');
        }
      },
      accounts: deps.tokens,
      log: deps.log,
      ...(intervals.accountCheckIntervalMs !== undefined ? { intervalMs: intervals.accountCheckIntervalMs } : {}),
    });
  }

  start(): void {
    this.timers.push(setInterval(() => this.pingAll(), this.intervals.pingIntervalMs).unref());
    this.timers.push(setInterval(() => void this.refresh(), this.intervals.keepAliveIntervalMs).unref());
    this.accountSweep.start();
  }

  stop(): void {
    this.accountSweep.stop();
    this.expiries.stop();
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  /** A new socket: answers to pings keep it, its token's expiry closes it, its user is online from now. */
  watch(connection: ChatConnection, log: FastifyBaseLogger): void {
    connection.socket.on('pong', onPong);
    this.expiries.add(connection, connection.tokenExpiresAt);
    const { userId } = connection;
    void this.deps.presence.heartbeat(userId).catch((error: unknown) => log.warn({ err: error, userId }, 'presence refresh failed'));
  }

  /** A closed socket: its expiry is forgotten. */
  unwatch(connection: ChatConnection): void {
    this.expiries.remove(connection, connection.tokenExpiresAt);
  }

  private pingAll(): void {
    for (const connection of this.deps.connections.connections()) connection.ping();
  }

  /**
   * A few pipelined calls, whatever the number of sockets: keeps connected users online,
   * renews this instance's room leases, and closes sockets whose token was revoked while a
   * revocation event could not be received (e.g. during a Redis restart). Never rejects.
   */
  private async refresh(): Promise<void> {
    const { connections, liveRooms, occupancy, presence, tokens } = this.deps;
    const leases = liveRooms.activeRoomIds().map((roomId) => ({ roomId, userIds: liveRooms.localUserIds(roomId) }));
    try {
      await Promise.all([
        presence.refreshMany(connections.userIds()),
        occupancy.renew(leases),
        tokens.revokedAmong(connections.jtis()).then((revoked) => revoked.forEach((jti) => connections.closeRevoked(jti))),
      ]);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'websocket upkeep failed');
    }
  }
}

/** Shared by every socket (`this` is the socket): an answer to the last ping keeps it. */
function onPong(this: WebSocket): void {
  const connection = ChatConnection.of(this);
  if (connection) connection.alive = true;
}
