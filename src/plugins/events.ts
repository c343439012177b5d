import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { DomainEvent, DomainEventType } from '../lib/domain-events.ts';
import { redisDbIndex } from '../lib/redis-url.ts';
import { EventHistory, type HistoryAppend, type HistoryOptions } from './event-history.ts';
import { FIRST_SUBSCRIBE_WAIT_MS, RedisSubscription } from './redis-subscription.ts';

export const DOMAIN_EVENTS_CHANNEL = 'domain:events';

/**
 * The event channel of a deployment on Redis logical database `db`. Pub/sub ignores SELECT:
 * deployments (or test runs) sharing a Redis server on different db indexes would otherwise
 * receive each other's events. db 0 keeps the plain name (as presence does).
 */
export const domainEventsChannel = (db: number) => (db === 0 ? DOMAIN_EVENTS_CHANNEL : `${DOMAIN_EVENTS_CHANNEL}:${db}`);

/** How long the first subscribe() may hold up app start while Redis does not answer. */
export { FIRST_SUBSCRIBE_WAIT_MS };

export type DomainEventHandler = (event: DomainEvent) => void;

/** What the bus reports as it works (metrics). */
export interface EventBusObserver {
  /** `event` was published by this process (once, however many instances receive it). */
  published(event: DomainEvent): void;
  /** An event was handed to every handler of this process, `lagMs` after its publication. */
  dispatched(lagMs: number): void;
}

const NO_OBSERVER: EventBusObserver = { published: () => {}, dispatched: () => {} };

/**
 * On the wire an event carries its publication time (epoch ms, the publisher's clock), taken
 * off again before handlers see it. Instances without it simply ignore the extra field.
 */
type StampedEvent = DomainEvent & { published_at?: number };

/** The room events most one publication carries; more go in the next. */
const MAX_PUBLISH_BATCH = 200;
const ONCE_TTL_S = 86_400;

interface QueuedRoomEvent extends HistoryAppend {
  resolve: (published: boolean) => void;
  reject: (error: unknown) => void;
}

function stamped(event: DomainEvent): string {
  // Last, so that deleting it after JSON.parse keeps the object in V8's fast mode.
  return JSON.stringify({ ...event, published_at: Date.now() });
}

/**
 * Publishes `ARGV[2]` on channel `ARGV[1]` unless the key `KEYS[1]` exists, which it then sets
 * for `ARGV[3]` seconds, in one step. Returns 1 when it published.
 */
const PUBLISH_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0`;

/** The ids a log line about `event` should carry, read from the fields events commonly have. */
function logContextOf(event: DomainEvent): { roomId?: number; userId?: number } {
  const fields = event as { room_id?: unknown; user_id?: unknown; actor_id?: unknown };
  const userId = fields.user_id ?? fields.actor_id;
  return {
    ...(typeof fields.room_id === 'number' ? { roomId: fields.room_id } : {}),
    ...(typeof userId === 'number' ? { userId } : {}),
  };
}

/**
 * Publishes domain events on one Redis channel and delivers them to this process's handlers.
 * One subscriber connection per process, opened on the first subscribe, whatever the number
 * of handlers. Events published here come back through Redis too, so every instance,
 * this one included, sees the same order.
 *
 * Redis outages (see RedisSubscription): the subscriber connection reconnects forever and
 * subscribes again on every reconnect, and a Redis that is down when the app starts delays
 * start by at most FIRST_SUBSCRIBE_WAIT_MS (the subscription then completes in the
 * background). Pub/sub is at-most-once: events published while this process was not
 * subscribed are not replayed. Consumers resynchronise instead (presence streams resend every
 * watched state, WebSocket clients reload history after a reconnect); messages themselves are
 * never lost, they are stored before their event is published.
 */
export class EventBus {
  private readonly handlers = new Set<DomainEventHandler>();
  /** Handlers of the events this process itself published (see onOwnPublished). */
  private readonly ownHandlers = new Set<DomainEventHandler>();
  private readonly subscription: RedisSubscription;
  private readonly roomHistoryTypes = new Set<DomainEventType>();
  /** Each room's recent events, for recovery (see EventHistory). */
  readonly history: EventHistory;
  private observer: EventBusObserver = NO_OBSERVER;
  /** Room events waiting for this tick's one script (see queueRoomEvent). */
  private queued: { event: DomainEvent; append: QueuedRoomEvent }[] = [];

  constructor(
    private readonly publisher: Redis,
    openSubscriber: () => Redis,
    private readonly log: FastifyBaseLogger,
    readonly channel: string = DOMAIN_EVENTS_CHANNEL,
    firstSubscribeWaitMs = FIRST_SUBSCRIBE_WAIT_MS,
    history: HistoryOptions = { size: 500, ttlS: 600 },
  ) {
    this.history = new EventHistory(publisher, history);
    this.subscription = new RedisSubscription({
      label: 'domain events',
      connect: openSubscriber,
      channels: [channel],
      onMessage: (raw) => this.dispatch(raw),
      log,
      firstSubscribeWaitMs,
    });
  }

  /**
   * Events of these types (each has a `room_id`) are room events: published with an `event_id`
   * and kept in their room's history. Modules declare theirs when they register.
   */
  keepInRoomHistory(...types: DomainEventType[]): void {
    for (const type of types) this.roomHistoryTypes.add(type);
  }

  /** Reports to `observer` from now on (one observer: the app's metrics). */
  observe(observer: EventBusObserver): void {
    this.observer = observer;
  }

  async publish(event: DomainEvent): Promise<void> {
    const roomId = this.historyRoomOf(event);
    if (roomId !== undefined) {
      await this.queueRoomEvent(event, roomId);
      return;
    }
    await this.publisher.publish(this.channel, stamped(event));
    this.announced(event);
  }

  /**
   * Events that are not room events, in one publication (a JSON array, as a tick's room
   * events go): each instance reads and parses them once. Room events go one by one.
   */
  async publishMany(events: readonly DomainEvent[]): Promise<void> {
    const plain = events.filter((event) => this.historyRoomOf(event) === undefined);
    await Promise.all(events.filter((event) => this.historyRoomOf(event) !== undefined).map((event) => this.publish(event)));
    if (plain.length === 0) return;
    await this.publisher.publish(this.channel, plain.length === 1 ? stamped(plain[0]!) : `[${plain.map(stamped).join(',')}]`);
    for (const event of plain) this.announced(event);
  }

  /**
   * Publishes `event` unless an event with the same `onceKey` was published in the last
   * `ttlS` seconds, atomically. Lets a retry publish what an earlier attempt may have stored
   * without publishing (the process died between the two), without announcing it twice.
   */
  async publishOnce(onceKey: string, event: DomainEvent, ttlS = ONCE_TTL_S): Promise<boolean> {
    const key = `event:once:${onceKey}`;
    const roomId = this.historyRoomOf(event);
    if (roomId !== undefined && ttlS === ONCE_TTL_S) return this.queueRoomEvent(event, roomId, key);
    const published =
      roomId === undefined
        ? (await this.publisher.eval(PUBLISH_ONCE, 1, key, this.channel, stamped(event), String(ttlS))) === 1
        : (await this.history.appendAndPublish(roomId, stamped(event), this.channel, { key, ttlS })) !== null;
    if (!published) return false;
    this.announced(event);
    return true;
  }

  /**
   * Room events published in one tick (a stored group of messages and whatever else) go to
   * Redis in one script and reach every instance in one publication, in the order they were
   * queued; each caller still learns whether its own event was published. Resolves true when
   * it was (false: its once key was taken).
   */
  private queueRoomEvent(event: DomainEvent, roomId: number, onceKey?: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.flushRoomEvents());
      this.queued.push({ event, append: { roomId, eventJson: stamped(event), onceKey, resolve, reject } });
    });
  }

  private flushRoomEvents(): void {
    const all = this.queued;
    this.queued = [];
    for (let start = 0; start < all.length; start += MAX_PUBLISH_BATCH) void this.publishBatch(all.slice(start, start + MAX_PUBLISH_BATCH));
  }

  private async publishBatch(batch: { event: DomainEvent; append: QueuedRoomEvent }[]): Promise<void> {
    try {
      const ids = await this.history.appendAndPublishMany(
        batch.map(({ append }) => append),
        this.channel,
        ONCE_TTL_S,
      );
      batch.forEach(({ event, append }, i) => {
        if (ids[i] !== null) this.announced(event);
        append.resolve(ids[i] !== null);
      });
    } catch (error) {
      for (const { append } of batch) append.reject(error);
    }
  }

  /** `event` was published by this process: metrics, and the handlers of its own events. */
  private announced(event: DomainEvent): void {
    this.observer.published(event);
    for (const handler of this.ownHandlers) {
      try {
        handler(event);
      } catch (error) {
        this.log.error({ err: error, eventType: event.type }, 'domain event handler failed');
      }
    }
  }

  private historyRoomOf(event: DomainEvent): number | undefined {
    if (!this.roomHistoryTypes.has(event.type)) return undefined;
    const roomId = (event as { room_id?: unknown }).room_id;
    return typeof roomId === 'number' ? roomId : undefined;
  }

  /**
   * For a change that is already committed: publishes `event` (once per `onceKey` when given),
   * never throws. A failed publish is logged with the event's type and the room and user it is
   * about, and never undoes the change.
   */
  async publishAfterCommit(event: DomainEvent, log: FastifyBaseLogger, options: { onceKey?: string; context?: Record<string, unknown> } = {}): Promise<void> {
    try {
      if (options.onceKey === undefined) await this.publish(event);
      else await this.publishOnce(options.onceKey, event);
    } catch (error) {
      // `context` rather than a child logger from the caller: no logger is built per event for the rare failure.
      log.error({ err: error, eventType: event.type, ...logContextOf(event), ...options.context }, 'failed to publish a domain event');
    }
  }

  /**
   * Registers a handler; returns the function that removes it. Resolves once the process is
   * subscribed, or after a bounded wait while Redis is unreachable (it keeps trying).
   */
  async subscribe(handler: DomainEventHandler): Promise<() => void> {
    this.handlers.add(handler);
    await this.subscription.start();
    return () => this.handlers.delete(handler);
  }

  /**
   * Registers a handler of the events this process publishes, called once per event right
   * after Redis took it (a once-keyed event only by the process that published it): for work
   * one instance must do per event, without every instance receiving it and racing for it.
   * Returns the function that removes it.
   */
  onOwnPublished(handler: DomainEventHandler): () => void {
    this.ownHandlers.add(handler);
    return () => this.ownHandlers.delete(handler);
  }

  /** True while the subscription is in place (false during a Redis outage). */
  get isSubscribed(): boolean {
    return this.subscription.isSubscribed;
  }

  async close(): Promise<void> {
    await this.subscription.close();
  }

  /** One publication: an event, or an array of them (a batch of room events, see queueRoomEvent). */
  private dispatch(raw: string): void {
    let parsed: StampedEvent | StampedEvent[];
    try {
      parsed = JSON.parse(raw) as StampedEvent | StampedEvent[];
    } catch {
      this.log.warn({ raw }, 'ignored a malformed domain event');
      return;
    }
    if (!Array.isArray(parsed)) this.dispatchOne(parsed);
    else for (const event of parsed) this.dispatchOne(event);
  }

  private dispatchOne(event: StampedEvent): void {
    const publishedAt = event.published_at;
    delete event.published_at;
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.log.error({ err: error, eventType: event.type }, 'domain event handler failed');
      }
    }
    if (typeof publishedAt === 'number') this.observer.dispatched(Date.now() - publishedAt);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus;
  }
}

async function eventsPlugin(app: FastifyInstance): Promise<void> {
  const channel = domainEventsChannel(redisDbIndex(app.config.REDIS_URL));
  const bus = new EventBus(app.redis, () => app.createRedisConnection('bigtech-chat-events'), app.log, channel, FIRST_SUBSCRIBE_WAIT_MS, {
    size: app.config.EVENT_HISTORY_SIZE,
    ttlS: app.config.EVENT_HISTORY_TTL_S,
  });
  bus.observe(app.metrics.eventBus);
  app.decorate('events', bus);
  app.addHook('onClose', async () => bus.close());
}

export default fp(eventsPlugin, { name: 'events', dependencies: ['redis', 'metrics'] });
