import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { RedisSubscription } from '../../plugins/redis-subscription.ts';
import { parsePresenceMessage } from './presence.keys.ts';
import type { WatcherRegistry } from './presence.registry.ts';

const FLAGS_BATCH = 1000;

export interface PresenceSubscriptionOptions {
  /** The deployment's presence channel (presenceChannel(db)). */
  channel: string;
  /** Name of the process's one presence subscriber connection (CLIENT SETNAME). */
  connectionName: string;
  /** Opens that connection (app.createRedisConnection). */
  openSubscriber: (connectionName: string) => Redis;
  registry: WatcherRegistry;
  onlineFlags: (userIds: readonly number[]) => Promise<Map<number, boolean>>;
  /** A user went offline (a logout publishes that): their own streams may hold a revoked token. */
  onUserOffline: (userId: number) => void;
  /** MySQL's copy of this user's presence was written (before the publication was sent). */
  onStored: (userId: number) => void;
  log: FastifyBaseLogger;
}

/**
 * The process's one subscription to the presence channel, whatever the number of streams:
 * every change published by any instance goes to the local streams watching that user. While
 * the subscription is down the streams get an `error` event; once it is back every watched
 * user's current state is resent (changes published meanwhile are lost: pub/sub is
 * at-most-once).
 */
export class PresenceSubscription {
  readonly counters = { changesReceived: 0, eventsDelivered: 0 };
  private readonly subscription: RedisSubscription;

  constructor(private readonly options: PresenceSubscriptionOptions) {
    this.subscription = new RedisSubscription({
      label: 'presence changes',
      connect: () => options.openSubscriber(options.connectionName),
      channels: [options.channel],
      onMessage: (raw) => this.deliver(raw),
      onInterrupted: () => options.registry.sendErrorToAll('Live presence updates interrupted, reconnecting'),
      onRestored: () => this.resynchronise(),
      log: options.log,
    });
  }

  get connectionName(): string {
    return this.options.connectionName;
  }

  get channel(): string {
    return this.options.channel;
  }

  get isSubscribed(): boolean {
    return this.subscription.isSubscribed;
  }

  /** Resolves once subscribed, or after the bounded first-subscribe wait while Redis is down. */
  start(): Promise<void> {
    return this.subscription.start();
  }

  close(): Promise<void> {
    return this.subscription.close();
  }

  private deliver(raw: string): void {
    const message = parsePresenceMessage(raw);
    if (!message) {
      this.options.log.warn({ raw }, 'ignored a malformed presence change');
      return;
    }
    if (message.kind === 'restamp') {
      this.options.onStored(message.userId);
      return;
    }
    const { change } = message;
    this.options.onStored(change.user_id);
    this.counters.changesReceived += 1;
    this.counters.eventsDelivered += this.options.registry.pushStatus(change.user_id, change.is_online);
    if (!change.is_online) this.options.onUserOffline(change.user_id);
  }

  /** After an outage: every watched user's current state, 1,000 users per Redis round trip. */
  private async resynchronise(): Promise<void> {
    const { registry } = this.options;
    const userIds = registry.watchedUserIds();
    try {
      for (let i = 0; i < userIds.length; i += FLAGS_BATCH) {
        const flags = await this.options.onlineFlags(userIds.slice(i, i + FLAGS_BATCH));
        for (const [userId, isOnline] of flags) registry.pushStatus(userId, isOnline);
      }
      this.options.log.info({ users: userIds.length }, 'presence streams resynchronised');
    } catch (error) {
      this.options.log.warn({ err: error, users: userIds.length }, 'could not resynchronise presence streams after the subscription was restored');
    }
  }
}
