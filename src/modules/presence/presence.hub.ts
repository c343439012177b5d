import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { DomainEvent } from '../../lib/domain-events.ts';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { EventBus } from '../../plugins/events.ts';
import { closeRedis } from '../../plugins/redis.ts';
import type { PresenceFriendStore } from './presence.friends.ts';
import { parsePresenceChange } from './presence.keys.ts';
import type { PresenceService } from './presence.service.ts';
import { PresenceStream, type StreamOwner } from './presence.stream.ts';

/** Headers already on the reply that a hijacked response must carry itself (CORS, mostly). */
const COPIED_HEADERS = /^(access-control-|vary$)/i;
const FLAGS_BATCH = 1000;

export interface PresenceHubOptions {
  presence: PresenceService;
  friends: PresenceFriendStore;
  events: EventBus;
  tokens: TokenService;
  /** Opens the hub's one subscriber connection (per process, whatever the number of streams). */
  /** Name of the subscriber connection (CLIENT SETNAME). */
  connectionName: string;
  openSubscriber: (connectionName: string) => Redis;
  log: FastifyBaseLogger;
  keepAliveMs: number;
  maxCongestedMs: number;
}

export interface PresenceHubStats {
  streams: number;
  /** Distinct users watched by at least one local stream (registry keys). */
  watchedUsers: number;
  /** Registry entries (watched user, stream) over all users. */
  watchEntries: number;
  viewers: number;
  streamsWithTimers: number;
  changesReceived: number;
  eventsDelivered: number;
}

/**
 * Fan-out of presence changes to this process's SSE streams. One Redis subscription on
 * the deployment's presence channel per process; an in-memory registry maps a watched user to the local streams
 * watching them, so a change costs work proportional to that user's local watchers only.
 * Friendship and block events (app.events) keep each stream's watched set current.
 */
export class PresenceHub implements StreamOwner {
  /** Applies to streams opened from now on; tests shorten it. */
  keepAliveMs: number;
  maxCongestedMs: number;
  private readonly watchers = new Map<number, Set<PresenceStream>>();
  private readonly viewers = new Map<number, Set<PresenceStream>>();
  private readonly streams = new Set<PresenceStream>();
  private subscriber: Redis | undefined;
  private stopEvents: (() => void) | undefined;
  private subscribed = false;
  private interrupted = false;
  private stopping = false;
  private watchEntries = 0;
  private readonly counters = { changesReceived: 0, eventsDelivered: 0 };
  /** Re-checks of a pair run one after the other, so a later event's answer is applied last. */
  private readonly pairChecks = new Map<string, Promise<void>>();

  constructor(private readonly options: PresenceHubOptions) {
    this.keepAliveMs = options.keepAliveMs;
    this.maxCongestedMs = options.maxCongestedMs;
  }

  /**
   * Subscribes (and follows friendship events). Resolves once subscribed, or at the first
   * connection error: the app still starts while Redis is down and subscribes when it is back.
   */
  async start(): Promise<void> {
    if (this.subscriber) return;
    this.stopping = false;
    const subscriber = this.options.openSubscriber(this.options.connectionName);
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.dispatch(raw);
    });
    subscriber.on('close', () => this.onInterrupted());
    const firstAttempt = new Promise<void>((resolve) => {
      subscriber.on('ready', () => {
        void this.subscribe().finally(resolve);
      });
      subscriber.once('error', () => resolve());
    });
    try {
      this.stopEvents = await this.options.events.subscribe((event) => this.onDomainEvent(event));
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not subscribe to domain events (friendship changes)');
    }
    await firstAttempt;
  }

  /** Ends every stream (so the HTTP server can close). */
  closeStreams(reason?: string): void {
    for (const stream of [...this.streams]) stream.close(reason);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.closeStreams();
    this.stopEvents?.();
    this.stopEvents = undefined;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = false;
    if (subscriber) await closeRedis(subscriber);
  }

  /**
   * Serves one stream. Friends and their flags are loaded before anything is written, so a
   * failure there is still an ordinary JSON error; from the first byte on, failures are `error`
   * events. The stream is in the registry before the snapshot is read, so no change is lost.
   */
  async open(auth: AuthContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const stream = new PresenceStream(auth.userId, auth.jti, auth.expiresAt, this, {
      keepAliveMs: this.keepAliveMs,
      maxCongestedMs: this.maxCongestedMs,
    });
    this.streams.add(stream);
    addTo(this.viewers, auth.userId, stream);
    const res = reply.raw;
    res.on('close', () => stream.close());

    let friendIds: number[];
    let flags: Map<number, boolean>;
    try {
      friendIds = await this.options.friends.friendIds(auth.userId);
      if (!stream.closed) for (const friendId of friendIds) this.watch(stream, friendId);
      flags = stream.closed ? new Map() : await this.options.presence.onlineFlags(friendIds);
    } catch (error) {
      stream.close();
      throw error;
    }
    reply.hijack();
    if (stream.closed) {
      if (!res.destroyed) res.destroy();
      return;
    }
    stream.start(res, this.headersFor(request, reply), friendIds, flags);
    request.log.debug({ friends: friendIds.length }, 'presence stream opened');
  }

  stats(): PresenceHubStats {
    let streamsWithTimers = 0;
    for (const stream of this.streams) if (stream.hasTimers) streamsWithTimers += 1;
    return {
      streams: this.streams.size,
      watchedUsers: this.watchers.size,
      watchEntries: this.watchEntries,
      viewers: this.viewers.size,
      streamsWithTimers,
      ...this.counters,
    };
  }

  /** Local streams watching this user. */
  watcherCount(userId: number): number {
    return this.watchers.get(userId)?.size ?? 0;
  }

  get connectionName(): string {
    return this.options.connectionName;
  }

  get channel(): string {
    return this.options.presence.channel;
  }

  get isSubscribed(): boolean {
    return this.subscribed && !this.interrupted;
  }

  // StreamOwner: the registry.

  watch(stream: PresenceStream, userId: number): void {
    if (stream.watched.has(userId)) return;
    stream.watched.add(userId);
    addTo(this.watchers, userId, stream);
    this.watchEntries += 1;
  }

  unwatch(stream: PresenceStream, userId: number): void {
    if (!stream.watched.delete(userId)) return;
    removeFrom(this.watchers, userId, stream);
    this.watchEntries -= 1;
  }

  detach(stream: PresenceStream): void {
    for (const userId of stream.watched) removeFrom(this.watchers, userId, stream);
    this.watchEntries -= stream.watched.size;
    stream.watched.clear();
    removeFrom(this.viewers, stream.viewerId, stream);
    this.streams.delete(stream);
  }

  onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>> {
    return this.options.presence.onlineFlags(userIds);
  }

  // Incoming changes.

  private dispatch(raw: string): void {
    const change = parsePresenceChange(raw);
    if (!change) {
      this.options.log.warn({ raw }, 'ignored a malformed presence change');
      return;
    }
    this.counters.changesReceived += 1;
    const watching = this.watchers.get(change.user_id);
    if (watching) {
      for (const stream of watching) stream.pushStatus(change.user_id, change.is_online);
      this.counters.eventsDelivered += watching.size;
    }
    // A logout publishes the user's offline status: their own streams on a revoked token end.
    if (!change.is_online && this.viewers.has(change.user_id)) void this.closeRevoked(change.user_id);
  }

  /**
   * Friendship and block events are hints: the pair is re-checked in MySQL (accepted friends,
   * no block either way) and each side's local streams start or stop watching the other. An
   * event for another deployment sharing the Redis server, or a stale one, changes nothing.
   */
  private onDomainEvent(event: DomainEvent): void {
    switch (event.type) {
      case 'friendship_changed':
        this.recheck(event.user_ids[0], event.user_ids[1]);
        break;
      case 'block_changed':
        this.recheck(event.blocker_id, event.blocked_id);
        break;
      default:
        break;
    }
  }

  private recheck(a: number, b: number): void {
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a === b) return;
    if (!this.viewers.has(a) && !this.viewers.has(b)) return; // nobody here watches either: no query
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    const previous = this.pairChecks.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        const watchable = await this.options.friends.canWatch(a, b);
        this.forViewer(a, (stream) => (watchable ? stream.addFriend(b) : stream.removeFriend(b)));
        this.forViewer(b, (stream) => (watchable ? stream.addFriend(a) : stream.removeFriend(a)));
      } catch (error) {
        this.options.log.warn({ err: error, users: [a, b] }, 'could not re-check a friendship for presence streams');
        this.forViewer(a, (stream) => stream.sendError('Could not update the watched friends'));
        this.forViewer(b, (stream) => stream.sendError('Could not update the watched friends'));
      }
    });
    this.pairChecks.set(key, next);
    void next.finally(() => {
      if (this.pairChecks.get(key) === next) this.pairChecks.delete(key);
    });
  }

  private forViewer(userId: number, action: (stream: PresenceStream) => void): void {
    const streams = this.viewers.get(userId);
    if (!streams) return;
    for (const stream of [...streams]) action(stream);
  }

  private async closeRevoked(userId: number): Promise<void> {
    const streams = [...(this.viewers.get(userId) ?? [])];
    try {
      const revoked = await Promise.all(streams.map((stream) => this.options.tokens.isRevoked(stream.jti)));
      streams.forEach((stream, i) => {
        if (revoked[i]) stream.close('Token has been revoked');
      });
    } catch (error) {
      this.options.log.warn({ err: error, userId }, 'could not check stream tokens for revocation');
    }
  }

  /** The subscription dropped (Redis restart): tell the streams, catch up once it is back. */
  private onInterrupted(): void {
    if (this.stopping || !this.subscribed || this.interrupted) return;
    this.interrupted = true;
    this.options.log.warn('presence subscription lost; reconnecting');
    for (const stream of this.streams) stream.sendError('Live presence updates interrupted, reconnecting');
  }

  /** On every (re)connect: make sure we are subscribed; after an outage, resend every watched user's state. */
  private async subscribe(): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber || this.stopping) return;
    try {
      await subscriber.subscribe(this.channel);
      this.subscribed = true;
      if (!this.interrupted) return;
      this.interrupted = false;
      const userIds = [...this.watchers.keys()];
      for (let i = 0; i < userIds.length; i += FLAGS_BATCH) {
        const flags = await this.options.presence.onlineFlags(userIds.slice(i, i + FLAGS_BATCH));
        for (const [userId, isOnline] of flags) {
          for (const stream of this.watchers.get(userId) ?? []) stream.pushStatus(userId, isOnline);
        }
      }
      this.options.log.info({ users: userIds.length }, 'presence subscription restored; streams resynchronised');
    } catch (error) {
      this.options.log.warn({ err: error }, 'presence subscription failed; retried on the next reconnect');
    }
  }

  private headersFor(request: FastifyRequest, reply: FastifyReply): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {};
    // Hijacked replies skip onSend hooks: carry over what @fastify/cors and friends already set.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined && COPIED_HEADERS.test(name)) headers[name] = value;
    }
    return {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    };
  }
}

function addTo<V>(map: Map<number, Set<V>>, key: number, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function removeFrom<V>(map: Map<number, Set<V>>, key: number, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
