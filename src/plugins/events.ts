import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { DomainEvent } from '../lib/domain-events.ts';
import { redisDbIndex } from '../modules/presence/presence.keys.ts';
import { closeRedis } from './redis.ts';

export const DOMAIN_EVENTS_CHANNEL = 'domain:events';

/**
 * The event channel of a deployment on Redis logical database `db`. Pub/sub ignores SELECT:
 * deployments (or test runs) sharing a Redis server on different db indexes would otherwise
 * receive each other's events. db 0 keeps the plain name (as presence does).
 */
export const domainEventsChannel = (db: number) => (db === 0 ? DOMAIN_EVENTS_CHANNEL : `${DOMAIN_EVENTS_CHANNEL}:${db}`);

/** How long the first subscribe() may hold up app start while Redis does not answer. */
export const FIRST_SUBSCRIBE_WAIT_MS = 2000;

export type DomainEventHandler = (event: DomainEvent) => void;

/**
 * Publishes domain events on one Redis channel and delivers them to this process's handlers.
 * One subscriber connection per process, opened on the first subscribe, whatever the number
 * of handlers. Events published here come back through Redis too, so every instance,
 * this one included, sees the same order.
 *
 * Redis outages: the subscriber connection reconnects forever and subscribes again on every
 * reconnect, and a Redis that is down when the app starts delays start by at most
 * FIRST_SUBSCRIBE_WAIT_MS (the subscription then completes in the background). Pub/sub is
 * at-most-once: events published while this process was not subscribed are not replayed.
 * Consumers resynchronise instead (presence streams resend every watched state, WebSocket
 * clients reload history after a reconnect); messages themselves are never lost, they are
 * stored before their event is published.
 */
const PUBLISH_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0`;

export class EventBus {
  private readonly handlers = new Set<DomainEventHandler>();
  private subscriber: Redis | undefined;
  private firstSubscription: Promise<void> | undefined;
  private firstDeadline = 0;
  private subscribed = false;
  private closed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly openSubscriber: () => Redis,
    private readonly log: FastifyBaseLogger,
    readonly channel: string = DOMAIN_EVENTS_CHANNEL,
    private readonly firstSubscribeWaitMs = FIRST_SUBSCRIBE_WAIT_MS,
  ) {}

  async publish(event: DomainEvent): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(event));
  }

  /**
   * Publishes `event` unless an event with the same `onceKey` was published in the last
   * `ttlS` seconds, atomically. Lets a retry publish what an earlier attempt may have stored
   * without publishing (the process died between the two), without announcing it twice.
   */
  async publishOnce(onceKey: string, event: DomainEvent, ttlS = 86_400): Promise<boolean> {
    const published = await this.publisher.eval(PUBLISH_ONCE, 1, `event:once:${onceKey}`, this.channel, JSON.stringify(event), String(ttlS));
    return published === 1;
  }

  /**
   * Registers a handler; returns the function that removes it. Resolves once the process is
   * subscribed, or after a bounded wait while Redis is unreachable (it keeps trying).
   */
  async subscribe(handler: DomainEventHandler): Promise<() => void> {
    this.handlers.add(handler);
    const first = this.ensureSubscriber();
    if (!this.subscribed) await this.waitUntilDeadline(first);
    return () => this.handlers.delete(handler);
  }

  /** True while the subscription is in place (false during a Redis outage). */
  get isSubscribed(): boolean {
    return this.subscribed;
  }

  async close(): Promise<void> {
    this.closed = true;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = false;
    if (subscriber) await closeRedis(subscriber);
  }

  private ensureSubscriber(): Promise<void> {
    if (this.subscriber && this.firstSubscription) return this.firstSubscription;
    this.closed = false;
    const subscriber = this.openSubscriber();
    this.subscriber = subscriber;
    this.firstDeadline = Date.now() + this.firstSubscribeWaitMs;
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.dispatch(raw);
    });
    subscriber.on('close', () => {
      if (this.subscribed && !this.closed) this.log.warn({ channel: this.channel }, 'domain event subscription lost; reconnecting');
      this.subscribed = false;
    });
    // ioredis re-subscribes after a reconnect by itself (autoResubscribe) once a subscription
    // existed; this also covers a first SUBSCRIBE that never went through.
    subscriber.on('ready', () => void this.subscribeChannel(subscriber));
    // Queued until Redis answers (the subscriber connection never gives up on a command).
    this.firstSubscription = this.subscribeChannel(subscriber);
    return this.firstSubscription;
  }

  private async subscribeChannel(subscriber: Redis): Promise<void> {
    if (this.closed || subscriber !== this.subscriber) return;
    try {
      await subscriber.subscribe(this.channel);
      if (this.closed || subscriber !== this.subscriber) return;
      if (!this.subscribed) this.log.info({ channel: this.channel }, 'subscribed to domain events');
      this.subscribed = true;
    } catch (error) {
      if (!this.closed) this.log.warn({ err: error, channel: this.channel }, 'domain event subscribe failed; retried on the next reconnect');
    }
  }

  private async waitUntilDeadline(first: Promise<void>): Promise<void> {
    const remaining = this.firstDeadline - Date.now();
    if (remaining <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), remaining);
    });
    const outcome = await Promise.race([first.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !this.subscribed) {
      this.log.warn({ channel: this.channel }, 'Redis not answering: continuing without domain events; subscribing in the background');
    }
  }

  private dispatch(raw: string): void {
    let event: DomainEvent;
    try {
      event = JSON.parse(raw) as DomainEvent;
    } catch {
      this.log.warn({ raw }, 'ignored a malformed domain event');
      return;
    }
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.log.error({ err: error, eventType: event.type }, 'domain event handler failed');
      }
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus;
  }
}

async function eventsPlugin(app: FastifyInstance): Promise<void> {
  const channel = domainEventsChannel(redisDbIndex(app.config.REDIS_URL));
  const bus = new EventBus(app.redis, () => app.createRedisConnection('bigtech-chat-events'), app.log, channel);
  app.decorate('events', bus);
  app.addHook('onClose', async () => bus.close());
}

export default fp(eventsPlugin, { name: 'events', dependencies: ['redis'] });
