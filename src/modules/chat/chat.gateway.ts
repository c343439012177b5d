import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { DomainEvent } from '../../lib/domain-events.ts';
import { AppError } from '../../lib/errors.ts';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { MessageService } from '../messages/message.service.ts';
import type { PresenceService } from '../presence/presence.service.ts';
import type { RoomService } from '../rooms/room.service.ts';
import { ChatConnection, CLOSE_TOKEN_INVALID } from './chat.connection.ts';
import { type ClientFrame, errorFrame, type MessageFrame, parseClientFrame, systemFrame } from './chat.frames.ts';
import type { RoomPresenceStore } from './room-presence.store.ts';
import { RoomRegistry } from './room-registry.ts';

export interface GatewayTimers {
  /** Ping every socket this often; one that did not answer the previous ping is cut. */
  pingIntervalMs: number;
  /** Refresh presence of connected users and room leases this often. */
  keepAliveIntervalMs: number;
}

const PONG_FRAME = JSON.stringify({ type: 'pong' });

/**
 * The WebSocket side of chat: one instance per process. Client frames go through the same
 * services as REST; domain events from any instance arrive through the event bus and are
 * delivered to this process's sockets of that room (each frame serialised once).
 */
export class ChatGateway {
  readonly registry: RoomRegistry;
  private readonly connections = new Set<ChatConnection>();
  private readonly byJti = new Map<string, Set<ChatConnection>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly deps: {
      rooms: RoomService;
      messages: MessageService;
      presence: PresenceService;
      tokens: TokenService;
      events: EventBus;
      roomPresence: RoomPresenceStore;
      log: FastifyBaseLogger;
    },
    idleTimeoutMs: number,
    private readonly intervals: GatewayTimers,
  ) {
    this.registry = new RoomRegistry(idleTimeoutMs);
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.events.subscribe((event) => this.deliver(event));
    this.timers.push(setInterval(() => this.pingAll(), this.intervals.pingIntervalMs).unref());
    this.timers.push(setInterval(() => void this.keepAlive(), this.intervals.keepAliveIntervalMs).unref());
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribe?.();
    const roomIds = this.registry.activeRoomIds();
    for (const connection of this.connections) connection.close(1001, 'Server shutting down');
    this.registry.clear();
    await this.deps.roomPresence.forgetInstance(roomIds).catch(() => {});
  }

  /** Who is connected to which room, over all instances. */
  get roomPresence(): RoomPresenceStore {
    return this.deps.roomPresence;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Adopts an authenticated socket; `initialRoomId` joins it straight away (/ws/chat/:room_id). */
  accept(socket: WebSocket, auth: AuthContext, initialRoomId?: number): ChatConnection {
    const connection = new ChatConnection(socket, auth.userId, auth.jti, auth.expiresAt);
    this.track(connection);
    const log = this.deps.log.child({ userId: auth.userId, connectionId: connection.id });
    socket.on('message', (data, isBinary) => void this.onFrame(connection, isBinary ? null : data.toString(), log));
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('close', () => void this.onClose(connection, log));
    socket.on('error', (error) => log.warn({ err: error }, 'websocket error'));

    const expiresInMs = auth.expiresAt * 1000 - Date.now();
    const expiry = setTimeout(() => connection.close(CLOSE_TOKEN_INVALID, 'Token expired'), Math.max(0, expiresInMs));
    expiry.unref();
    socket.once('close', () => clearTimeout(expiry));

    void this.deps.presence.heartbeat(auth.userId).catch((error: unknown) => log.warn({ err: error }, 'presence refresh failed'));
    if (initialRoomId !== undefined) void this.join(connection, initialRoomId, log);
    return connection;
  }

  /** One client frame; `raw` is null for a binary frame. */
  private async onFrame(connection: ChatConnection, raw: string | null, log: FastifyBaseLogger): Promise<void> {
    if (!connection.takeFrameToken()) {
      connection.send(errorFrame('RATE_LIMITED', 'Too many frames, slow down'));
      return;
    }
    const parsed = raw === null ? { error: 'Frames must be JSON text' } : parseClientFrame(raw);
    if ('error' in parsed) {
      connection.send(errorFrame('BAD_REQUEST', parsed.error));
      return;
    }
    try {
      await this.handle(connection, parsed.frame, log);
    } catch (error) {
      log.error({ err: error, frameType: parsed.frame.type }, 'websocket frame failed');
      connection.send(errorFrame('BAD_REQUEST', 'The frame could not be handled'));
    }
  }

  private async handle(connection: ChatConnection, frame: ClientFrame, log: FastifyBaseLogger): Promise<void> {
    switch (frame.type) {
      case 'ping':
        return connection.send(PONG_FRAME);
      case 'join':
        return this.join(connection, frame.room_id, log);
      case 'leave':
        return this.leave(connection, frame.room_id);
      case 'message':
        return this.sendMessage(connection, frame, log);
      case 'typing':
        return this.typing(connection, frame.room_id, frame.is_typing);
      case 'read':
        return this.read(connection, frame.room_id, frame.message_id);
    }
  }

  private async join(connection: ChatConnection, roomId: number, log: FastifyBaseLogger): Promise<void> {
    try {
      await this.deps.rooms.membership(connection.userId, roomId);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      connection.send(errorFrame('UNAUTHORIZED', `You are not a member of room ${roomId}`));
      return;
    }
    const wasOnline = (await this.deps.roomPresence.onlineUserIds(roomId)).includes(connection.userId);
    const { firstForUser } = this.registry.join(roomId, connection);
    if (firstForUser) await this.deps.roomPresence.userJoined(roomId, connection.userId);
    const onlineUserIds = await this.deps.roomPresence.onlineUserIds(roomId);
    connection.send(JSON.stringify({ type: 'joined', room_id: roomId, online_user_ids: onlineUserIds }));
    if (!wasOnline) await this.deps.events.publish({ type: 'room_presence', room_id: roomId, user_id: connection.userId, event: 'USER_CONNECTED' });
    log.debug({ roomId }, 'joined room');
  }

  private async leave(connection: ChatConnection, roomId: number): Promise<void> {
    if (!connection.rooms.has(roomId)) return;
    const { lastForUser, roomEmpty } = this.registry.leave(roomId, connection);
    if (!lastForUser) return;
    await this.deps.roomPresence.userLeft(roomId, connection.userId, true, roomEmpty);
    const stillOnline = (await this.deps.roomPresence.onlineUserIds(roomId)).includes(connection.userId);
    if (!stillOnline) {
      await this.deps.events.publish({ type: 'room_presence', room_id: roomId, user_id: connection.userId, event: 'USER_DISCONNECTED' });
    }
  }

  /** Same code path as POST /api/messages/:room_id; temp_id is the client_message_id. */
  private async sendMessage(connection: ChatConnection, frame: MessageFrame, log: FastifyBaseLogger): Promise<void> {
    try {
      const { message } = await this.deps.messages.send(connection.userId, frame.room_id, {
        content: frame.content,
        message_type: frame.message_type,
        attachment_url: frame.attachment_url,
        reply_to: frame.reply_to,
        client_message_id: frame.temp_id,
      });
      connection.send(JSON.stringify({ type: 'ack', temp_id: frame.temp_id, message }));
    } catch (error) {
      if (!(error instanceof AppError)) log.error({ err: error, roomId: frame.room_id }, 'websocket send failed');
      const reason = error instanceof AppError && error.statusCode < 500 ? error.message : 'The message could not be sent';
      connection.send(errorFrame('SEND_FAILED', reason, frame.temp_id));
    }
  }

  private async typing(connection: ChatConnection, roomId: number, isTyping: boolean): Promise<void> {
    if (!connection.rooms.has(roomId)) {
      connection.send(errorFrame('UNAUTHORIZED', `Join room ${roomId} first`));
      return;
    }
    await this.deps.events.publish({ type: 'typing', room_id: roomId, user_id: connection.userId, is_typing: isTyping });
  }

  private async read(connection: ChatConnection, roomId: number, messageId: string): Promise<void> {
    try {
      await this.deps.messages.markRead(connection.userId, roomId, messageId);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const code = error.code === 'forbidden' ? 'UNAUTHORIZED' : 'BAD_REQUEST';
      connection.send(errorFrame(code, error.message));
    }
  }

  private async onClose(connection: ChatConnection, log: FastifyBaseLogger): Promise<void> {
    this.untrack(connection);
    for (const roomId of [...connection.rooms]) {
      await this.leave(connection, roomId).catch((error: unknown) => log.warn({ err: error, roomId }, 'leaving room on close failed'));
    }
  }

  /** Domain event → frames for the local sockets of that room. */
  private deliver(event: DomainEvent): void {
    switch (event.type) {
      case 'message_created':
        return this.broadcast(event.room_id, JSON.stringify({ type: 'message', message: event.message }));
      case 'message_updated':
        return this.broadcast(event.room_id, JSON.stringify({ type: 'message_updated', message: event.message }));
      case 'message_deleted':
        return this.broadcast(event.room_id, JSON.stringify({ type: 'message_deleted', message: event.message }));
      case 'reaction_changed':
        return this.broadcast(event.room_id, JSON.stringify({ type: 'reaction', message: event.message }));
      case 'read_updated':
        return this.broadcast(
          event.room_id,
          JSON.stringify({ type: 'read_receipt', room_id: event.room_id, user_id: event.user_id, message_id: event.message_id, read_at: event.read_at }),
        );
      case 'typing':
        return this.broadcast(event.room_id, systemFrame('TYPING', event.room_id, event.user_id, event.is_typing), event.user_id);
      case 'room_presence':
        return this.broadcast(event.room_id, systemFrame(event.event, event.room_id, event.user_id), event.user_id);
      case 'room_changed':
        return this.roomChanged(event);
      case 'token_revoked':
        return this.closeToken(event.jti);
      default:
        return;
    }
  }

  private roomChanged(event: Extract<DomainEvent, { type: 'room_changed' }>): void {
    this.broadcast(event.room_id, JSON.stringify({ type: 'room_updated', room: event.room }));
    const gone = event.change === 'deleted' ? null : event.change === 'member_left' || event.change === 'member_removed' ? new Set(event.member_ids) : undefined;
    if (gone === undefined) return;
    for (const connection of [...this.registry.connections(event.room_id)]) {
      if (gone === null || gone.has(connection.userId)) void this.leave(connection, event.room_id).catch(() => {});
    }
  }

  private broadcast(roomId: number, frame: string, exceptUserId?: number): void {
    for (const connection of this.registry.connections(roomId)) {
      if (connection.userId !== exceptUserId) connection.send(frame);
    }
  }

  private closeToken(jti: string): void {
    for (const connection of this.byJti.get(jti) ?? []) connection.close(CLOSE_TOKEN_INVALID, 'Token revoked');
  }

  private track(connection: ChatConnection): void {
    this.connections.add(connection);
    const sameToken = this.byJti.get(connection.jti) ?? new Set<ChatConnection>();
    sameToken.add(connection);
    this.byJti.set(connection.jti, sameToken);
  }

  private untrack(connection: ChatConnection): void {
    this.connections.delete(connection);
    const sameToken = this.byJti.get(connection.jti);
    sameToken?.delete(connection);
    if (sameToken?.size === 0) this.byJti.delete(connection.jti);
  }

  private pingAll(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  /**
   * Periodic upkeep in a few pipelined calls, whatever the number of sockets: keeps connected
   * users online, renews this instance's room leases, and closes sockets whose token was
   * revoked while a revocation event could not be received (e.g. during a Redis restart).
   */
  private async keepAlive(): Promise<void> {
    const userIds = [...new Set([...this.connections].map((connection) => connection.userId))];
    const jtis = [...this.byJti.keys()];
    try {
      await Promise.all([
        this.deps.presence.refreshMany(userIds),
        this.deps.roomPresence.renew(
          this.registry.activeRoomIds().map((roomId) => ({ roomId, userIds: this.registry.localUserIds(roomId) })),
        ),
        this.deps.tokens.revokedAmong(jtis).then((revoked) => revoked.forEach((jti) => this.closeToken(jti))),
      ]);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'websocket upkeep failed');
    }
  }
}
