import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { AuthContext } from '../../plugins/auth.ts';
import { ChatConnection } from './chat.connection.ts';
import type { ChatDispatcher } from './chat.dispatcher.ts';
import type { ChatUpkeep } from './chat.upkeep.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { RoomJoins } from './room-joins.ts';

const CLOSE_GOING_AWAY = 1001;

/**
 * Where an authenticated socket enters chat: it is tracked from accept to close, its frames
 * go to the dispatcher, its upkeep to ChatUpkeep, and on close it leaves its rooms. No promise
 * started from a socket event can reject: each one below answers or logs its own failures.
 */
export class ChatGateway {
  constructor(
    private readonly deps: {
      connections: ConnectionRegistry;
      dispatcher: ChatDispatcher;
      joins: RoomJoins;
      upkeep: ChatUpkeep;
      log: FastifyBaseLogger;
    },
  ) {}

  get connectionCount(): number {
    return this.deps.connections.size;
  }

  /** Adopts a socket; `initialRoomId` joins it straight away (/ws/chat/:room_id). */
  accept(socket: WebSocket, auth: AuthContext, initialRoomId?: number): ChatConnection {
    const { connections, dispatcher, upkeep } = this.deps;
    const connection = new ChatConnection(socket, auth.userId, auth.jti, auth.expiresAt);
    const log = this.deps.log.child({ userId: auth.userId, connectionId: connection.id });
    connections.add(connection);
    socket.on('message', (data, isBinary) => void dispatcher.onFrame(connection, isBinary ? null : data.toString(), log));
    socket.on('close', () => void this.onClose(connection, log));
    socket.on('error', (error) => log.warn({ err: error }, 'websocket error'));
    upkeep.watch(connection, log);
    if (initialRoomId !== undefined) void dispatcher.joinOnAccept(connection, initialRoomId, log);
    return connection;
  }

  /** Shutdown: closes every socket and removes this instance from the rooms it was in. */
  async closeAll(): Promise<void> {
    this.deps.connections.closeAll(CLOSE_GOING_AWAY, 'Server shutting down');
    await this.deps.joins.forgetAll();
  }

  private async onClose(connection: ChatConnection, log: FastifyBaseLogger): Promise<void> {
    this.deps.connections.remove(connection);
    connection.presence?.close();
    connection.presence = undefined;
    await this.deps.joins.leaveAll(connection, log);
  }
}
