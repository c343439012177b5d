import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../../lib/errors.ts';
import type { AbuseLimits } from '../../plugins/abuse-limits.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { AppMetrics } from '../../plugins/metrics.ts';
import type { MessageService } from '../messages/message.service.ts';
import type { PresenceHub } from '../presence/presence.hub.ts';
import type { ChatConnection } from './chat.connection.ts';
import { type ClientFrame, errorFrame, type MessageFrame, parseClientFrame } from './chat.frames.ts';
import type { RoomJoins } from './room-joins.ts';
import { FramePresenceTransport } from './socket-presence.ts';

const PONG_FRAME = JSON.stringify({ type: 'pong' });

/**
 * Client frames → services: each frame goes through the same services as its REST route.
 * Its entry points never reject: whatever a frame's own handling does not answer is logged
 * and answered with one BAD_REQUEST error frame, and the socket stays open.
 */
export class ChatDispatcher {
  constructor(
    private readonly deps: {
      joins: RoomJoins;
      messages: Pick<MessageService, 'send' | 'markRead'>;
      events: Pick<EventBus, 'publish'>;
      /** The per-user message bucket, shared with POST /api/messages/:room_id. */
      limits: Pick<AbuseLimits, 'message'>;
      presence: Pick<PresenceHub, 'subscribe'>;
      metrics: Pick<AppMetrics, 'rateLimited'>;
    },
  ) {}

  /** One client frame; `raw` is null for a binary frame. */
  async onFrame(connection: ChatConnection, raw: string | null, log: FastifyBaseLogger): Promise<void> {
    const parsed = raw === null ? { error: 'Frames must be JSON text' } : parseClientFrame(raw);
    if (!connection.takeFrameToken()) {
      // A refused message names its temp_id, so the client knows which send to retry.
      const tempId = 'frame' in parsed && parsed.frame.type === 'message' ? parsed.frame.temp_id : undefined;
      connection.send(errorFrame('RATE_LIMITED', 'Too many frames, slow down', tempId));
      this.deps.metrics.rateLimited('ws_frame');
      return;
    }
    if ('error' in parsed) {
      connection.send(errorFrame('BAD_REQUEST', parsed.error));
      return;
    }
    await this.handleOrAnswer(connection, parsed.frame, log);
  }

  /** The join of `/ws/chat/:room_id`: answered as a `join` frame is (not counted against the frame rate). */
  async joinOnAccept(connection: ChatConnection, roomId: number, log: FastifyBaseLogger): Promise<void> {
    await this.handleOrAnswer(connection, { type: 'join', room_id: roomId }, log);
  }

  private async handleOrAnswer(connection: ChatConnection, frame: ClientFrame, log: FastifyBaseLogger): Promise<void> {
    try {
      await this.handle(connection, frame, log);
    } catch (error) {
      log.error({ err: error, frameType: frame.type, roomId: 'room_id' in frame ? frame.room_id : undefined }, 'websocket frame failed');
      connection.send(errorFrame('BAD_REQUEST', 'The frame could not be handled'));
    }
  }

  private async handle(connection: ChatConnection, frame: ClientFrame, log: FastifyBaseLogger): Promise<void> {
    switch (frame.type) {
      case 'ping':
        return connection.send(PONG_FRAME);
      case 'join':
        return this.deps.joins.join(connection, frame.room_id, log, frame.since);
      case 'leave':
        return this.deps.joins.leave(connection, frame.room_id);
      case 'message':
        return this.sendMessage(connection, frame, log);
      case 'typing':
        return this.typing(connection, frame.room_id, frame.is_typing);
      case 'read':
        return this.read(connection, frame.room_id, frame.message_id);
      case 'presence_subscribe':
        return this.subscribePresence(connection);
      case 'presence_unsubscribe':
        connection.presenceRequests += 1;
        connection.presence?.close();
        connection.presence = undefined;
        return;
    }
  }

  /** A fresh snapshot and live changes; subscribing again starts over with a new snapshot. */
  private async subscribePresence(connection: ChatConnection): Promise<void> {
    const request = ++connection.presenceRequests;
    connection.presence?.close();
    connection.presence = undefined;
    const stream = await this.deps.presence.subscribe(
      { userId: connection.userId, jti: connection.jti, expiresAt: connection.tokenExpiresAt },
      new FramePresenceTransport(connection),
    );
    // Closed meanwhile (or unsubscribed, or subscribed again): this one is not wanted.
    if (connection.socket.readyState !== connection.socket.OPEN || request !== connection.presenceRequests) stream.close();
    else connection.presence = stream;
  }

  /** Same code path as POST /api/messages/:room_id; temp_id is the client_message_id. */
  private async sendMessage(connection: ChatConnection, frame: MessageFrame, log: FastifyBaseLogger): Promise<void> {
    try {
      const limit = await this.deps.limits.message(connection.userId);
      if (!limit.allowed) {
        connection.send(errorFrame('RATE_LIMITED', limit.error.message, frame.temp_id));
        return;
      }
      const { message, created } = await this.deps.messages.send(connection.userId, frame.room_id, {
        content: frame.content,
        message_type: frame.message_type,
        attachment_url: frame.attachment_url,
        attachment_id: frame.attachment_id,
        reply_to: frame.reply_to,
        client_message_id: frame.temp_id,
      });
      if (!created) limit.giveBack(); // a resend of a stored message: nothing new was sent
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
}
