import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { beginCoalesced, endCoalesced, KEEP_ALIVE_FRAME, onCoalescedDrain, sseFrame, writeCoalesced } from '../../lib/sse.ts';

/**
 * Where a presence stream's events go, and in what format: an SSE response
 * (`GET /api/online-status/stream`) or a chat WebSocket (`presence_subscribe`).
 */
export interface PresenceTransport {
  /** Starts the output (SSE: status line and headers). */
  begin(): void;
  /** The first output: the friends' states, with changes that arrived while they loaded applied. */
  snapshot(friendIds: readonly number[], flags: ReadonlyMap<number, boolean>, held: readonly [number, boolean][]): string;
  status(userId: number, isOnline: boolean): string;
  error(message: string): string;
  /** Sent every keepAliveMs; null when the transport keeps itself alive. */
  readonly keepAlive: string | null;
  /** False when the client is not keeping up: status changes are then coalesced until `onDrain`. */
  write(chunk: string): boolean;
  onDrain(listener: () => void): void;
  end(): void;
}

let lastStatus: { userId: number; isOnline: boolean; frame: string } | undefined;

/**
 * A change goes to every stream watching that user one after the other: the frame is built
 * once for all of them (the last one is kept), not once per stream.
 */
function statusFrame(userId: number, isOnline: boolean): string {
  if (lastStatus?.userId !== userId || lastStatus.isOnline !== isOnline) {
    lastStatus = { userId, isOnline, frame: sseFrame('status', { user_id: userId, is_online: isOnline }) };
  }
  return lastStatus.frame;
}

/** SSE on a hijacked response: the `connected` event, then one `status` event per friend and change. */
export class SsePresenceTransport implements PresenceTransport {
  readonly keepAlive = KEEP_ALIVE_FRAME;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: OutgoingHttpHeaders,
  ) {}

  begin(): void {
    beginCoalesced(this.res, this.headers);
  }

  snapshot(friendIds: readonly number[], flags: ReadonlyMap<number, boolean>, held: readonly [number, boolean][]): string {
    let chunk = sseFrame('connected', { message: `Monitoring ${friendIds.length} friends`, friend_ids: friendIds });
    for (const userId of friendIds) chunk += this.status(userId, flags.get(userId) ?? false);
    for (const [userId, isOnline] of held) chunk += this.status(userId, isOnline);
    return chunk;
  }

  status(userId: number, isOnline: boolean): string {
    return statusFrame(userId, isOnline);
  }

  error(message: string): string {
    return sseFrame('error', { message });
  }

  write(chunk: string): boolean {
    const res = this.res;
    if (res.writableEnded || res.destroyed) return true;
    return writeCoalesced(res, chunk);
  }

  onDrain(listener: () => void): void {
    onCoalescedDrain(this.res, listener);
  }

  end(): void {
    endCoalesced(this.res);
  }
}

/** The largest delay setTimeout accepts. */
const MAX_TIMER_MS = 2_147_483_647;

/** What a stream needs from the registry of watchers it belongs to (WatcherRegistry). */
export interface StreamOwner {
  watch(stream: PresenceStream, userId: number): void;
  unwatch(stream: PresenceStream, userId: number): void;
  detach(stream: PresenceStream): void;
  onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>>;
}

export interface StreamSettings {
  keepAliveMs: number;
  /** A client that has not drained its buffer for this long is dropped (it can reconnect). */
  maxCongestedMs: number;
}

type Phase = 'loading' | 'live' | 'closed';
type FriendOp = { kind: 'add' | 'remove'; userId: number };

/**
 * One presence subscription: an open `GET /api/online-status/stream` or a socket's
 * `presence_subscribe`. While the initial state loads, live changes and
 * friendship changes are held back and replayed after it, so nothing slips between the
 * snapshot and the live feed. Under backpressure, status events are coalesced per user (the
 * latest state wins) until the socket drains, so a slow client costs at most one entry per friend.
 */
export class PresenceStream {
  /** Users this stream watches (its entries in the WatcherRegistry). */
  readonly watched = new Set<number>();
  private phase: Phase = 'loading';
  private transport: PresenceTransport | undefined;
  private readonly heldStatuses: [number, boolean][] = [];
  private readonly heldFriendOps: FriendOp[] = [];
  /** Snapshots in flight for newly accepted friends: true once a live change overtook them. */
  private readonly snapshotsInFlight = new Map<number, boolean>();
  private readonly coalesced = new Map<number, boolean>();
  private congestedSince: number | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly viewerId: number,
    readonly jti: string,
    /** Token expiry (epoch seconds): the stream ends then. */
    readonly expiresAt: number,
    private readonly owner: StreamOwner,
    private readonly settings: StreamSettings,
  ) {}

  get closed(): boolean {
    return this.phase === 'closed';
  }

  get hasTimers(): boolean {
    return this.keepAliveTimer !== undefined || this.expiryTimer !== undefined;
  }

  /** Starts the transport, sends the snapshot (with whatever arrived meanwhile), then goes live. */
  start(transport: PresenceTransport, friendIds: readonly number[], flags: Map<number, boolean>): void {
    if (this.phase !== 'loading') return;
    this.transport = transport;
    transport.begin();
    const chunk = transport.snapshot(friendIds, flags, this.heldStatuses);
    this.heldStatuses.length = 0;
    this.phase = 'live';
    this.write(chunk);

    if (transport.keepAlive !== null) {
      this.keepAliveTimer = setInterval(() => this.keepAlive(), this.settings.keepAliveMs);
      this.keepAliveTimer.unref();
    }
    const untilExpiry = this.expiresAt * 1000 - Date.now();
    this.expiryTimer = setTimeout(() => this.close('Token expired'), Math.min(Math.max(untilExpiry, 0), MAX_TIMER_MS));
    this.expiryTimer.unref();

    for (const op of this.heldFriendOps.splice(0)) {
      if (op.kind === 'add') this.addFriend(op.userId);
      else this.removeFriend(op.userId);
    }
  }

  /** A live change of a watched user. */
  pushStatus(userId: number, isOnline: boolean): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'loading') {
      this.heldStatuses.push([userId, isOnline]);
      return;
    }
    if (this.snapshotsInFlight.has(userId)) this.snapshotsInFlight.set(userId, true);
    this.sendStatus(userId, isOnline);
  }

  /** A friendship accepted while connected: watch them and send their current status. */
  addFriend(userId: number): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'loading') {
      this.heldFriendOps.push({ kind: 'add', userId });
      return;
    }
    if (this.watched.has(userId)) return;
    this.owner.watch(this, userId);
    this.snapshotsInFlight.set(userId, false);
    this.owner.onlineFlags([userId]).then(
      (flags) => {
        const overtaken = this.snapshotsInFlight.get(userId);
        this.snapshotsInFlight.delete(userId);
        if (this.phase !== 'live' || !this.watched.has(userId) || overtaken) return;
        this.sendStatus(userId, flags.get(userId) ?? false);
      },
      () => {
        this.snapshotsInFlight.delete(userId);
        this.sendError(`Could not load the status of user ${userId}`);
      },
    );
  }

  /** A friendship ended (or a block) while connected: stop watching. */
  removeFriend(userId: number): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'loading') {
      this.heldFriendOps.push({ kind: 'remove', userId });
      return;
    }
    this.owner.unwatch(this, userId);
    this.coalesced.delete(userId);
    this.snapshotsInFlight.delete(userId);
  }

  sendError(message: string): void {
    if (this.phase !== 'live' || !this.transport) return;
    this.write(this.transport.error(message));
  }

  /** Frees everything: registry entries, timers, the response. Idempotent. */
  close(reason?: string): void {
    if (this.phase === 'closed') return;
    if (reason) this.sendError(reason);
    this.phase = 'closed';
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.expiryTimer);
    this.keepAliveTimer = undefined;
    this.expiryTimer = undefined;
    this.heldStatuses.length = 0;
    this.heldFriendOps.length = 0;
    this.coalesced.clear();
    this.snapshotsInFlight.clear();
    this.owner.detach(this);
    this.transport?.end();
  }

  private sendStatus(userId: number, isOnline: boolean): void {
    if (this.congestedSince !== undefined) {
      // Latest state wins, in the order the users changed.
      this.coalesced.delete(userId);
      this.coalesced.set(userId, isOnline);
      return;
    }
    this.write(this.transport?.status(userId, isOnline) ?? '');
  }

  private write(chunk: string): void {
    const transport = this.transport;
    if (!transport || chunk === '') return;
    if (!transport.write(chunk) && this.congestedSince === undefined) {
      this.congestedSince = Date.now();
      transport.onDrain(() => this.drain());
    }
  }

  private drain(): void {
    this.congestedSince = undefined;
    for (const [userId, isOnline] of this.coalesced) {
      this.coalesced.delete(userId);
      this.write(this.transport?.status(userId, isOnline) ?? '');
      if (this.congestedSince !== undefined) return;
    }
  }

  private keepAlive(): void {
    if (this.congestedSince !== undefined) {
      if (Date.now() - this.congestedSince > this.settings.maxCongestedMs) this.close();
      return;
    }
    if (this.transport?.keepAlive) this.write(this.transport.keepAlive);
  }
}
