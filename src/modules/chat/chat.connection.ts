import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CatchUpBuffer } from './catch-up.ts';
import type { OutgoingFrame, SharedFrame } from './chat.frames.ts';
import type { ChatSession } from './connection-registry.ts';
import type { RoomSubscriber } from './room-registry.ts';

/** Per-connection limits. */
export const CONNECTION_LIMITS = {
  /** Frames a client may send in a burst, refilled at `framesPerSecond`. */
  burstFrames: 40,
  framesPerSecond: 20,
  /** Bytes queued for a client that does not read before it is cut off as a slow consumer. */
  maxBufferedBytes: 4 * 1024 * 1024,
} as const;

export const CLOSE_SLOW_CONSUMER = 1013;
export const CLOSE_TOKEN_INVALID = 4001;

/** ws sends a Buffer as a binary frame unless told otherwise. */
const TEXT_FRAME = { binary: false } as const;

/**
 * TCP sockets written to during this turn of the event loop, corked until it ends: the frames
 * one socket gets in a turn (the events of one Redis read, a replay, an ack and its message)
 * leave in one writev instead of one each. ws corks around each frame itself; the outer cork
 * keeps its uncork from flushing.
 */
const corkedThisTurn: Socket[] = [];

function uncorkAll(): void {
  for (const tcp of corkedThisTurn) tcp.uncork();
  corkedThisTurn.length = 0;
}

function corkUntilTurnEnds(tcp: Socket): void {
  if (tcp.writableCorked > 0) return;
  if (corkedThisTurn.length === 0) process.nextTick(uncorkAll);
  tcp.cork();
  corkedThisTurn.push(tcp);
}

let nextConnectionId = 1;

/** Socket → its connection, for listeners shared by all sockets (they get the socket as `this`). */
const connectionOfSocket = new WeakMap<WebSocket, ChatConnection>();

/** One client socket: who it is, which rooms it joined, and its send/receive limits. */
export class ChatConnection implements RoomSubscriber, ChatSession {
  static of(socket: WebSocket): ChatConnection | undefined {
    return connectionOfSocket.get(socket);
  }

  readonly id = nextConnectionId++;
  readonly rooms = new Set<number>();
  /** Live frames of rooms this socket is replaying history for (join with `since`). */
  readonly catchUp = new CatchUpBuffer();
  /** Friends' presence on this socket, while subscribed (`presence_subscribe`). */
  presence: { close(): void } | undefined;
  /** Counts presence_subscribe/unsubscribe frames: only the latest one's subscription is kept. */
  presenceRequests = 0;
  alive = true;
  private tokens: number = CONNECTION_LIMITS.burstFrames;
  private refilledAt = Date.now();
  /**
   * Shared frames go to the TCP socket as the frame built once for every socket (SharedFrame.wire),
   * past ws: it holds nothing back without an extension (no compression queue), so the order of
   * this socket's frames is kept, and `bufferedAmount` still counts what is queued.
   */
  private readonly tcpForFrames: Socket | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly userId: number,
    readonly jti: string,
    readonly tokenExpiresAt: number,
    /** The TCP socket under `socket`, when known: its writes of a turn are coalesced. */
    private readonly tcp?: Socket,
  ) {
    connectionOfSocket.set(socket, this);
    this.tcpForFrames = tcp !== undefined && socket.extensions === '' ? tcp : undefined;
  }

  /**
   * Sends a serialised frame unless the client stopped reading; then it is closed. A shared
   * frame goes as its bytes, encoded once for every socket, in a text frame all the same.
   */
  send(frame: OutgoingFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > CONNECTION_LIMITS.maxBufferedBytes) {
      this.close(CLOSE_SLOW_CONSUMER, 'Slow consumer');
      return;
    }
    if (this.tcp) corkUntilTurnEnds(this.tcp);
    if (typeof frame === 'string') this.socket.send(frame);
    else if (this.tcpForFrames) this.tcpForFrames.write(frame.wire);
    else this.socket.send(frame.bytes, TEXT_FRAME);
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** A frame for this user rather than a room (presence, notifications). */
  userEvent(frame: string): void {
    this.send(frame);
  }

  /** The socket stays: it simply gets nothing more of that room (the room_updated frame said why). */
  removedFrom(): void {}

  /** A frame of one of this socket's rooms: held while that room catches up, else sent. */
  deliver(roomId: number, frame: SharedFrame, eventId: string | undefined): void {
    if (!this.catchUp.offer(roomId, frame, eventId)) this.send(frame);
  }

  /** Token bucket: false when the client sends faster than allowed. */
  takeFrameToken(now = Date.now()): boolean {
    const refill = ((now - this.refilledAt) / 1000) * CONNECTION_LIMITS.framesPerSecond;
    this.tokens = Math.min(CONNECTION_LIMITS.burstFrames, this.tokens + refill);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Cuts a socket that did not answer the previous ping, else pings it. */
  ping(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }
}
