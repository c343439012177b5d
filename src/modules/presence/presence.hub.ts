import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { AccountSweep } from '../../plugins/account-sweep.ts';
import type { Redis } from 'ioredis';
import type { DomainEvent } from '../../lib/domain-events.ts';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { PresenceFriendStore } from './presence.friends.ts';
import { WatcherRegistry, type WatcherRegistryStats } from './presence.registry.ts';
import type { PresenceService } from './presence.service.ts';
import { PresenceSse } from './presence.sse.ts';
import type { PresenceStream, PresenceTransport } from './presence.stream.ts';
import { PresenceSubscription } from './presence.subscription.ts';

export interface PresenceHubOptions {
  presence: PresenceService;
  friends: PresenceFriendStore;
  events: EventBus;
  tokens: TokenService;
  /** Name of the hub's one subscriber connection per process, whatever the number of streams (CLIENT SETNAME). */
  connectionName: string;
  /** Opens that connection (app.createRedisConnection). */
  openSubscriber: (connectionName: string) => Redis;
  log: FastifyBaseLogger;
  keepAliveMs: number;
  maxCongestedMs: number;
}

export interface PresenceHubStats extends WatcherRegistryStats {
  changesReceived: number;
  eventsDelivered: number;
}

/**
 * Fan-out of presence changes to this process's SSE streams, wired from three parts:
 * - PresenceSubscription: the one Redis subscription on the presence channel per process;
 * - WatcherRegistry: watched user → local streams (in memory), kept current by friendship
 *   and block events (app.events), which it re-checks in MySQL;
 * - PresenceSse: the HTTP stream (hijack, then PresenceStream: keep-alive, congestion drop),
 *   and the end of streams whose token was revoked;
 * - AccountSweep: the end of streams whose user was deactivated or deleted.
 */
export class PresenceHub {
  /** Applies to streams opened from now on; tests shorten it. */
  keepAliveMs: number;
  maxCongestedMs: number;
  private readonly registry: WatcherRegistry;
  private readonly subscription: PresenceSubscription;
  private readonly sse: PresenceSse;
  private readonly accountCheck: AccountSweep;
  private started = false;
  private stopEvents: (() => void) | undefined;
  private readonly storedListeners = new Set<(userId: number) => void>();

  constructor(private readonly options: PresenceHubOptions) {
    this.keepAliveMs = options.keepAliveMs;
    this.maxCongestedMs = options.maxCongestedMs;
    const onlineFlags = (userIds: readonly number[]) => options.presence.onlineFlags(userIds);
    this.registry = new WatcherRegistry({ friends: options.friends, onlineFlags, log: options.log });
    this.sse = new PresenceSse({ registry: this.registry, friends: options.friends, onlineFlags, tokens: options.tokens, log: options.log });
    this.subscription = new PresenceSubscription({
      channel: options.presence.channel,
      connectionName: options.connectionName,
      openSubscriber: options.openSubscriber,
      registry: this.registry,
      onlineFlags,
      onUserOffline: (userId) => this.sse.closeRevoked(userId),
      onStored: (userId) => this.storedListeners.forEach((listener) => listener(userId)),
      log: options.log,
    });
    this.accountCheck = new AccountSweep({
      label: 'presence streams',
      userIds: () => this.registry.viewerIds(),
      closeSessionsOf: (userIds) => userIds.forEach((userId) => this.registry.closeStreamsOf(userId, 'Account deactivated')),
      accounts: options.tokens,
      log: options.log,
    });
  }

  /**
   * Subscribes to presence changes and follows friendship events. Resolves once both are in
   * place, or after the bounded first-subscribe wait while Redis is down (both then complete
   * in the background).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.accountCheck.start();
    await Promise.all([this.subscription.start(), this.followFriendships()]);
  }

  /** Ends every stream (so the HTTP server can close). */
  closeStreams(reason?: string): void {
    this.registry.closeAll(reason);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.accountCheck.stop();
    this.closeStreams();
    this.stopEvents?.();
    this.stopEvents = undefined;
    await this.subscription.close();
  }

  /** Serves one `GET /api/online-status/stream` (see PresenceSse.open). */
  open(auth: AuthContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return this.sse.open(auth, request, reply, { keepAliveMs: this.keepAliveMs, maxCongestedMs: this.maxCongestedMs });
  }

  /** Presence on another transport (a chat socket), with the SSE stream's rules (see PresenceSse.subscribe). */
  subscribe(viewer: Pick<AuthContext, 'userId' | 'jti' | 'expiresAt'>, transport: PresenceTransport): Promise<PresenceStream> {
    return this.sse.subscribe(viewer, transport, { keepAliveMs: this.keepAliveMs, maxCongestedMs: this.maxCongestedMs });
  }

  /**
   * Called on every instance for each user whose MySQL presence (is_online, last_seen_at) was
   * written by any instance (login, logout, expiry), once the write is visible: the presence
   * publication is sent only after it. At most once (pub/sub); lost while unsubscribed.
   */
  onStored(listener: (userId: number) => void): () => void {
    this.storedListeners.add(listener);
    return () => this.storedListeners.delete(listener);
  }

  stats(): PresenceHubStats {
    return { ...this.registry.stats(), ...this.subscription.counters };
  }

  /** Local streams watching this user. */
  watcherCount(userId: number): number {
    return this.registry.watcherCount(userId);
  }

  get connectionName(): string {
    return this.subscription.connectionName;
  }

  get channel(): string {
    return this.subscription.channel;
  }

  get isSubscribed(): boolean {
    return this.subscription.isSubscribed;
  }

  private async followFriendships(): Promise<void> {
    try {
      this.stopEvents = await this.options.events.subscribe((event) => this.onDomainEvent(event));
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not subscribe to domain events (friendship changes)');
    }
  }

  /** Friendship and block events are hints: the registry re-checks the pair (see WatcherRegistry). */
  private onDomainEvent(event: DomainEvent): void {
    switch (event.type) {
      case 'friendship_changed':
        this.registry.recheck(event.user_ids[0], event.user_ids[1]);
        break;
      case 'block_changed':
        this.registry.recheck(event.blocker_id, event.blocked_id);
        break;
      default:
        break;
    }
  }
}
