import type { FastifyBaseLogger } from 'fastify';
import type { TokenService } from '../../plugins/auth.ts';
import type { PresenceService } from '../presence/presence.service.ts';
import { type ChatConnection, CLOSE_TOKEN_INVALID } from './chat.connection.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { RoomOccupancyStore } from './room-occupancy.store.ts';
import type { RoomRegistry } from './room-registry.ts';

export interface UpkeepTimers {
  /** Ping every socket this often; one that did not answer the previous ping is cut. */
  pingIntervalMs: number;
  /** Refresh presence of connected users and room leases this often. */
  keepAliveIntervalMs: number;
  /** Close sockets of deactivated or deleted users within this (default ACCOUNT_CHECK_INTERVAL_MS). */
  accountCheckIntervalMs?: number;
}

/** One batched query per period, whatever the number of sockets; within the contract's 5 s. */
export const ACCOUNT_CHECK_INTERVAL_MS = 4000;

/**
 * What keeps open sockets honest while nothing is sent: ping/pong and dropping dead sockets,
 * closing a socket when its token expires or is found revoked or its user deactivated or
 * deleted, keeping connected users online and renewing this instance's room leases.
 */
export class ChatUpkeep {
  private readonly timers: NodeJS.Timeout[] = [];
  /** A slow check (MySQL struggling) is not stacked on by the next period's. */
  private checkingAccounts = false;

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
  ) {}

  start(): void {
    this.timers.push(setInterval(() => this.pingAll(), this.intervals.pingIntervalMs).unref());
    this.timers.push(setInterval(() => void this.refresh(), this.intervals.keepAliveIntervalMs).unref());
    const accountCheckMs = this.intervals.accountCheckIntervalMs ?? ACCOUNT_CHECK_INTERVAL_MS;
    this.timers.push(setInterval(() => void this.closeInactiveAccounts(), accountCheckMs).unref());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  /** A new socket: answers to pings keep it, its token's expiry closes it, its user is online from now. */
  watch(connection: ChatConnection, log: FastifyBaseLogger): void {
    connection.socket.on('pong', () => {
      connection.alive = true;
    });
    this.closeOnExpiry(connection);
    void this.deps.presence.heartbeat(connection.userId).catch((error: unknown) => log.warn({ err: error }, 'presence refresh failed'));
  }

  private closeOnExpiry(connection: ChatConnection): void {
    const expiresInMs = connection.tokenExpiresAt * 1000 - Date.now();
    const expiry = setTimeout(() => connection.close(CLOSE_TOKEN_INVALID, 'Token expired'), Math.max(0, expiresInMs));
    expiry.unref();
    connection.socket.once('close', () => clearTimeout(expiry));
  }

  private pingAll(): void {
    for (const connection of this.deps.connections.connections()) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
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

  /** One query for every connected user: sockets of users deactivated or deleted close with 4001. Never rejects. */
  private async closeInactiveAccounts(): Promise<void> {
    const { connections, tokens, log } = this.deps;
    if (connections.size === 0 || this.checkingAccounts) return;
    this.checkingAccounts = true;
    try {
      const inactive = new Set(await tokens.inactiveAmong(connections.userIds()));
      if (inactive.size === 0) return;
      for (const connection of [...connections.connections()]) {
        if (inactive.has(connection.userId)) connection.close(CLOSE_TOKEN_INVALID, 'Account deactivated');
      }
      log.info({ userIds: [...inactive] }, 'closed sockets of deactivated accounts');
    } catch (error) {
      log.warn({ err: error }, 'websocket account check failed');
    } finally {
      this.checkingAccounts = false;
    }
  }
}
