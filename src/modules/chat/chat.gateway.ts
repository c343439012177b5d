import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { AuthContext } from '../../plugins/auth.ts';
import { ChatConnection } from './chat.connection.ts';
import type { ChatDispatcher } from './chat.dispatcher.ts';
import type { ChatUpkeep } from './chat.upkeep.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { RoomJoins } from './room-joins.ts';

const CLOSE_GOING_AWAY = 1001;

type SocketListener<A extends unknown[]> = (this: WebSocket, ...args: A) => void;

/**
 * Where an authenticated socket enters chat: it is tracked from accept to close, its frames
 * go to the dispatcher, its upkeep to ChatUpkeep, and on close it leaves its rooms. No promise
 * started from a socket event can reject: each one below answers or logs its own failures.
 *
 * An idle socket costs what it must and little more (50,000 per instance): the listeners are
 * shared by every socket (each finds its connection by its socket), its logger is made when
 * something is logged, and the upgrade's request and reply are let go once it is accepted.
 */
export class ChatGateway {
  private readonly loggers = new WeakMap<ChatConnection, FastifyBaseLogger>();
  private readonly onMessage: SocketListener<[RawData, boolean]>;
  private readonly onClose: SocketListener<[]>;
  private readonly onError: SocketListener<[Error]>;

  constructor(
    private readonly deps: {
      connections: ConnectionRegistry;
      dispatcher: ChatDispatcher;
      joins: RoomJoins;
      upkeep: ChatUpkeep;
      log: FastifyBaseLogger;
    },
  ) {
    const { dispatcher } = deps;
    this.onMessage = forConnection((connection, data, isBinary) => {
      void dispatcher.onFrame(connection, isBinary ? null : data.toString(), this.logOf(connection));
    });
    this.onClose = forConnection((connection) => void this.closed(connection));
    this.onError = forConnection((connection, error) => {
      this.logOf(connection).warn({ err: error }, 'websocket error');
      connection.socket.terminate();
    });
  }

  get connectionCount(): number {
    return this.deps.connections.size;
  }

  /**
   * Adopts a socket; `initialRoomId` joins it straight away (/ws/chat/:room_id). `upgrade` is
   * the HTTP request it was upgraded from, released here.
   */
  accept(socket: WebSocket, auth: AuthContext, initialRoomId?: number, upgrade?: IncomingMessage): ChatConnection {
    const { connections, dispatcher, upkeep } = this.deps;
    const connection = new ChatConnection(socket, auth.userId, auth.jti, auth.expiresAt, upgrade?.socket as Socket | undefined);
    releaseUpgrade(socket, upgrade, this.onError);
    connections.add(connection);
    socket.on('message', this.onMessage);
    socket.on('close', this.onClose);
    upkeep.watch(connection, this.deps.log);
    if (initialRoomId !== undefined) void dispatcher.joinOnAccept(connection, initialRoomId, this.logOf(connection));
    return connection;
  }

  /** Shutdown: closes every socket and removes this instance from the rooms it was in. */
  async closeAll(): Promise<void> {
    this.deps.connections.closeAll(CLOSE_GOING_AWAY, 'Server shutting down');
    await this.deps.joins.forgetAll();
  }

  private async closed(connection: ChatConnection): Promise<void> {
    this.deps.connections.remove(connection);
    this.deps.upkeep.unwatch(connection);
    connection.presence?.close();
    connection.presence = undefined;
    await this.deps.joins.leaveAll(connection, this.logOf(connection));
  }

  /** The connection's logger, made the first time it is needed (most idle sockets never log). */
  private logOf(connection: ChatConnection): FastifyBaseLogger {
    let log = this.loggers.get(connection);
    if (!log) {
      log = this.deps.log.child({ userId: connection.userId, connectionId: connection.id });
      this.loggers.set(connection, log);
    }
    return log;
  }
}

/** One listener for every socket: `this` is the socket, whose connection it acts on. */
function forConnection<A extends unknown[]>(handler: (connection: ChatConnection, ...args: A) => void): SocketListener<A> {
  return function (this: WebSocket, ...args: A) {
    const connection = ChatConnection.of(this);
    if (connection) handler(connection, ...args);
  };
}

/**
 * @fastify/websocket leaves two paths from an upgraded socket to its HTTP request: its error
 * listener closes over the request and reply (with their loggers, headers, the token in the
 * URL and the first bytes read), and the TCP socket still names the ServerResponse it was
 * assigned. Both go, so those objects are collected instead of living as long as the socket.
 * The error listener is replaced by the gateway's, which terminates the socket as it did.
 */
function releaseUpgrade(socket: WebSocket, upgrade: IncomingMessage | undefined, onError: SocketListener<[Error]>): void {
  // Added before the old one goes, so `_events.error` is replaced rather than deleted (a
  // deleted key turns the socket's listener table into a slower, larger dictionary).
  const previous = socket.listeners('error');
  socket.on('error', onError);
  for (const listener of previous) socket.removeListener('error', listener as SocketListener<[Error]>);
  const tcp = upgrade?.socket as (Socket & { _httpMessage?: ServerResponse | null }) | undefined;
  const response = tcp?._httpMessage;
  if (tcp && response) response.detachSocket(tcp);
}
