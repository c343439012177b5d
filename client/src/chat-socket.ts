import { type Message, ROOM_EVENT_TYPES, type SendOptions, type ServerFrame, type ServerFrames, type ServerFrameType } from './frames.ts';

/** The part of the WebSocket API the SDK uses: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/**
 * A WebSocket class: the browser's, or `ws`'s in Node. Both have the members of WebSocketLike;
 * their handler types name richer event objects, so the constructor is taken as it is and its
 * sockets are used through WebSocketLike.
 */
export type WebSocketConstructor = new (url: string) => object;

export interface ChatSocketOptions {
  /** The server's base URL, e.g. `https://chat.example.com` (http: or https:). */
  baseUrl: string;
  token: string;
  /** Defaults to the global WebSocket (browsers, Node 22+); pass `ws`'s in Node 20. */
  WebSocket?: WebSocketConstructor;
  /** Reconnection backoff: the first delay, doubled each attempt up to the maximum (with jitter). */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

/** Events of the socket itself, besides every server frame type. */
export interface LifecycleEvents {
  /** Connected (again): rooms are being re-joined with `since`, unsent messages re-sent. */
  open: { reconnect: boolean };
  /** The connection dropped; `willReconnect` unless closed on purpose or for the token. */
  close: { code: number; reason: string; willReconnect: boolean };
  /** The server refused the token (expired or revoked, close 4001): call setToken() and connect(). */
  auth_error: { code: number; reason: string };
}

type Events = { [K in ServerFrameType]: ServerFrames[K] } & LifecycleEvents;
type Handler<K extends keyof Events> = (event: Events[K]) => void;

interface PendingSend {
  frame: string;
  resolve: (message: Message) => void;
  reject: (error: ChatSendError) => void;
}

/** A send the server refused (not a lost connection: those are retried). */
export class ChatSendError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly tempId: string,
  ) {
    super(message);
    this.name = 'ChatSendError';
  }
}

const OPEN = 1;
const CLOSE_TOKEN_INVALID = 4001;
const RATE_LIMIT_RETRY_MS = 1000;
/** Message ids remembered to deliver each message once to on('message'). */
const DELIVERED_MEMORY = 5000;

/**
 * A chat connection that survives network loss: it reconnects with backoff, re-joins its rooms
 * with `since` (the last event id it saw in each: the server replays the gap exactly once, or
 * sends `reset`), re-sends unacknowledged messages with the same `temp_id` (the server stores
 * each once), and delivers each message once to on('message').
 */
export class ChatSocket {
  private socket: WebSocketLike | undefined;
  private token: string;
  private readonly rooms = new Set<number>();
  private readonly lastEventIds = new Map<number, string>();
  private readonly pending = new Map<string, PendingSend>();
  private readonly delivered = new Set<string>();
  private readonly handlers = new Map<keyof Events, Set<(event: never) => void>>();
  private presenceWanted = false;
  private wanted = false;
  private everOpened = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly WebSocketImpl: WebSocketConstructor;

  constructor(private readonly options: ChatSocketOptions) {
    this.token = options.token;
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!impl) throw new Error('No WebSocket implementation: pass one as options.WebSocket (e.g. the ws package in Node 20)');
    this.WebSocketImpl = impl;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** The last event id seen per room (what a rejoin resumes from). */
  get positions(): ReadonlyMap<number, string> {
    return this.lastEventIds;
  }

  /** Opens the connection; resolves once it is open (it keeps reconnecting after that). */
  connect(): Promise<void> {
    this.wanted = true;
    return new Promise((resolve, reject) => {
      const offOpen = this.on('open', () => {
        offOpen();
        offAuth();
        resolve();
      });
      const offAuth = this.on('auth_error', (event) => {
        offOpen();
        offAuth();
        reject(new Error(`token refused: ${event.reason}`));
      });
      this.open();
    });
  }

  /** A new token (after a refresh); used from the next connection on. */
  setToken(token: string): void {
    this.token = token;
  }

  on<K extends keyof Events>(type: K, handler: Handler<K>): () => void {
    const set = this.handlers.get(type) ?? new Set();
    set.add(handler as (event: never) => void);
    this.handlers.set(type, set);
    return () => set.delete(handler as (event: never) => void);
  }

  /** Joins now and after every reconnect (then with `since`). */
  join(roomId: number): void {
    this.rooms.add(roomId);
    this.sendJoin(roomId);
  }

  leave(roomId: number): void {
    this.rooms.delete(roomId);
    this.lastEventIds.delete(roomId);
    this.write({ type: 'leave', room_id: roomId });
  }

  /**
   * Sends a message; resolves with the stored message on its `ack`. While disconnected it waits,
   * and it is re-sent with the same temp_id after a reconnect, so it is stored exactly once.
   * Rejects with ChatSendError when the server refuses it.
   */
  send(roomId: number, content: string, options: SendOptions = {}): Promise<Message> {
    const tempId = options.temp_id ?? randomId();
    const { temp_id: _ignored, ...rest } = options;
    const frame = JSON.stringify({ type: 'message', room_id: roomId, content, ...rest, temp_id: tempId });
    return new Promise((resolve, reject) => {
      this.pending.set(tempId, { frame, resolve, reject });
      if (this.isOpen) this.socket?.send(frame);
    });
  }

  typing(roomId: number, isTyping: boolean): void {
    this.write({ type: 'typing', room_id: roomId, is_typing: isTyping });
  }

  read(roomId: number, messageId: string): void {
    this.write({ type: 'read', room_id: roomId, message_id: messageId });
  }

  /** Friends' presence on this connection: a `presence_snapshot`, then `presence` frames (again after reconnects). */
  subscribePresence(): void {
    this.presenceWanted = true;
    this.write({ type: 'presence_subscribe' });
  }

  unsubscribePresence(): void {
    this.presenceWanted = false;
    this.write({ type: 'presence_unsubscribe' });
  }

  /** Closes for good: no reconnect; unsent messages are rejected. */
  close(): void {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    this.socket?.close(1000, 'client closed');
    for (const [tempId, send] of this.pending) send.reject(new ChatSendError('CLOSED', 'The socket was closed before the message was acknowledged', tempId));
    this.pending.clear();
  }

  private open(): void {
    clearTimeout(this.reconnectTimer);
    const url = `${this.options.baseUrl.replace(/^http/, 'ws')}/ws/chat?token=${encodeURIComponent(this.token)}`;
    const socket = new this.WebSocketImpl(url) as WebSocketLike;
    this.socket = socket;
    socket.onopen = () => this.onOpen();
    socket.onmessage = (event) => this.onFrame(String(event.data));
    socket.onclose = (event) => this.onClose(socket, event.code, event.reason);
    // A failed connection also closes: onclose decides about reconnecting.
    socket.onerror = () => {};
  }

  private onOpen(): void {
    const reconnect = this.everOpened;
    this.everOpened = true;
    this.attempt = 0;
    for (const roomId of this.rooms) this.sendJoin(roomId);
    if (this.presenceWanted) this.write({ type: 'presence_subscribe' });
    for (const send of this.pending.values()) this.socket?.send(send.frame);
    this.emit('open', { reconnect });
  }

  private onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    if (code === CLOSE_TOKEN_INVALID) {
      this.wanted = false;
      this.emit('close', { code, reason, willReconnect: false });
      this.emit('auth_error', { code, reason });
      return;
    }
    this.emit('close', { code, reason, willReconnect: this.wanted });
    if (this.wanted) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const min = this.options.minReconnectDelayMs ?? 500;
    const max = this.options.maxReconnectDelayMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private onFrame(raw: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(raw) as ServerFrame;
    } catch {
      return;
    }
    this.remember(frame);
    switch (frame.type) {
      case 'ack':
        return this.acknowledged(frame.temp_id, frame.message);
      case 'error':
        if (frame.temp_id !== undefined && this.refused(frame.temp_id, frame.code, frame.message)) return;
        return this.emit('error', frame);
      case 'reset':
        this.lastEventIds.delete(frame.room_id);
        return this.emit('reset', frame);
      case 'message':
        if (!this.firstDelivery(frame.message.id)) return;
        return this.emit('message', frame);
      default:
        return this.emit(frame.type, frame as never);
    }
  }

  /** Keeps the room's last event id, for the next `join` with `since`. */
  private remember(frame: ServerFrame): void {
    if (!ROOM_EVENT_TYPES.has(frame.type) || !('event_id' in frame) || typeof frame.event_id !== 'string') return;
    const roomId = roomOf(frame);
    if (roomId !== undefined && this.rooms.has(roomId)) this.lastEventIds.set(roomId, frame.event_id);
  }

  private acknowledged(tempId: string, message: Message): void {
    const send = this.pending.get(tempId);
    if (!send) return;
    this.pending.delete(tempId);
    send.resolve(message);
  }

  /** True when the error was about one of our sends (handled here). */
  private refused(tempId: string, code: string, message: string): boolean {
    const send = this.pending.get(tempId);
    if (!send) return false;
    if (code === 'RATE_LIMITED') {
      setTimeout(() => {
        if (this.pending.get(tempId) === send && this.isOpen) this.socket?.send(send.frame);
      }, RATE_LIMIT_RETRY_MS);
      return true;
    }
    this.pending.delete(tempId);
    send.reject(new ChatSendError(code, message, tempId));
    return true;
  }

  private firstDelivery(messageId: string): boolean {
    if (this.delivered.has(messageId)) return false;
    this.delivered.add(messageId);
    if (this.delivered.size > DELIVERED_MEMORY) {
      const oldest = this.delivered.values().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
    return true;
  }

  private sendJoin(roomId: number): void {
    const since = this.lastEventIds.get(roomId);
    this.write({ type: 'join', room_id: roomId, ...(since ? { since } : {}) });
  }

  private write(frame: Record<string, unknown>): void {
    if (this.isOpen) this.socket?.send(JSON.stringify(frame));
  }

  private emit<K extends keyof Events>(type: K, event: Events[K]): void {
    for (const handler of this.handlers.get(type) ?? []) {
      try {
        (handler as Handler<K>)(event);
      } catch (error) {
        // One app handler's bug must not stop the others or the socket.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function roomOf(frame: ServerFrame): number | undefined {
  if ('room_id' in frame && typeof frame.room_id === 'number') return frame.room_id;
  switch (frame.type) {
    case 'ack':
    case 'message':
    case 'message_updated':
    case 'message_deleted':
    case 'reaction':
      return frame.message.room_id;
    default:
      break;
  }
  if (frame.type === 'room_updated' && frame.room && typeof frame.room.id === 'number') return frame.room.id;
  return undefined;
}

function randomId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return crypto?.randomUUID?.() ?? `t${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}
