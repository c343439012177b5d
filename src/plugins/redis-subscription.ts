import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { closeRedis } from './redis.ts';

/** How long the first start() of a subscription may hold up app start while Redis does not answer. */
export const FIRST_SUBSCRIBE_WAIT_MS = 2000;

export interface RedisSubscriptionOptions {
  /** What is subscribed to, for log lines ("domain events", "presence changes"). */
  label: string;
  /**
   * Opens the dedicated subscriber connection, e.g. `() => app.createRedisConnection(name)`:
   * its commands wait for Redis instead of failing and it reconnects forever. Called by the
   * first start(), and by the first start() after a close().
   */
  connect: () => Redis;
  channels?: readonly string[];
  patterns?: readonly string[];
  /** A message on one of the channels or patterns; `channel` is the one it was published on. */
  onMessage: (message: string, channel: string) => void;
  log: FastifyBaseLogger;
  /** Longest wait of start() for the first subscription, counted from opening the connection. */
  firstSubscribeWaitMs?: number;
  /**
   * After every successful subscribe: the first one and the one after each reconnect. The
   * first start() waits for it (within its bounded wait); a failure is logged.
   */
  onSubscribed?: () => Promise<void> | void;
  /** The subscription was in place and its connection dropped: messages are being missed. */
  onInterrupted?: () => void;
  /**
   * Subscribed again after an interruption (called after onSubscribed). Pub/sub is
   * at-most-once: what was published meanwhile is lost, consumers resynchronise here.
   */
  onRestored?: () => Promise<void> | void;
}

/**
 * One Redis pub/sub subscription on a dedicated connection, kept in place across Redis
 * outages: it subscribes on every `ready` (ioredis's autoResubscribe only covers channels that
 * were subscribed once; this also covers a first SUBSCRIBE that never went through), reports
 * interruptions and restorations (log lines and callbacks), and lets start() hold up app start
 * only for a bounded time while Redis is down (subscribing then completes in the background).
 */
export class RedisSubscription {
  private readonly channels: ReadonlySet<string>;
  private readonly patterns: ReadonlySet<string>;
  private connection: Redis | undefined;
  /** Bumped on every `ready` and on close(): answers for an older one are ignored. */
  private epoch = 0;
  private subscribed = false;
  private interrupted = false;
  private deadline = 0;
  private firstSetUp: Promise<void> = Promise.resolve();
  private endFirstWait: () => void = () => undefined;
  private firstSetUpDone = false;
  private warnedSlowStart = false;

  constructor(private readonly options: RedisSubscriptionOptions) {
    this.channels = new Set(options.channels ?? []);
    this.patterns = new Set(options.patterns ?? []);
    if (this.channels.size === 0 && this.patterns.size === 0) throw new Error(`${options.label}: nothing to subscribe to`);
  }

  /** True while the subscription is in place (false before the first subscribe and during an outage). */
  get isSubscribed(): boolean {
    return this.subscribed;
  }

  /**
   * Opens the connection on the first call (and on the first call after close()). Resolves
   * once the first subscription is in place and its onSubscribed has run, or when the
   * first-subscribe wait runs out (it keeps trying); at once when that already happened.
   * Never rejects.
   */
  async start(): Promise<void> {
    if (!this.connection) this.open();
    if (this.firstSetUpDone) return;
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), remaining);
    });
    const outcome = await Promise.race([this.firstSetUp.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !this.subscribed && !this.warnedSlowStart) {
      this.warnedSlowStart = true;
      this.options.log.warn(this.logContext(), `Redis not answering: continuing without ${this.options.label}; subscribing in the background`);
    }
  }

  /** Closes the connection without hanging (Redis down or not); start() opens a new one. */
  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.epoch += 1;
    this.subscribed = false;
    this.interrupted = false;
    this.endFirstWait();
    if (connection) await closeRedis(connection);
  }

  private open(): void {
    const connection = this.options.connect();
    this.connection = connection;
    this.subscribed = false;
    this.interrupted = false;
    this.firstSetUpDone = false;
    this.warnedSlowStart = false;
    this.deadline = Date.now() + (this.options.firstSubscribeWaitMs ?? FIRST_SUBSCRIBE_WAIT_MS);
    this.firstSetUp = new Promise<void>((resolve) => {
      this.endFirstWait = resolve;
    });
    connection.on('message', (channel: string, message: string) => {
      if (connection === this.connection && this.channels.has(channel)) this.options.onMessage(message, channel);
    });
    connection.on('pmessage', (pattern: string, channel: string, message: string) => {
      if (connection === this.connection && this.patterns.has(pattern)) this.options.onMessage(message, channel);
    });
    connection.on('close', () => {
      if (connection === this.connection) this.onClose();
    });
    connection.on('ready', () => void this.subscribe(connection));
    if (connection.status === 'ready') void this.subscribe(connection);
  }

  /** On every (re)connect: subscribe (idempotent), then run the consumers' hooks. */
  private async subscribe(connection: Redis): Promise<void> {
    if (connection !== this.connection) return;
    this.epoch += 1;
    const epoch = this.epoch;
    try {
      if (this.channels.size > 0) await connection.subscribe(...this.channels);
      if (this.patterns.size > 0) await connection.psubscribe(...this.patterns);
    } catch (error) {
      if (epoch === this.epoch) this.options.log.warn({ err: error, ...this.logContext() }, `${this.options.label} subscribe failed; retried on the next reconnect`);
      return;
    }
    if (epoch !== this.epoch) return;
    const restored = this.interrupted;
    const wasSubscribed = this.subscribed;
    this.interrupted = false;
    this.subscribed = true;
    if (restored) this.options.log.info(this.logContext(), `${this.options.label} subscription restored`);
    else if (!wasSubscribed) this.options.log.info(this.logContext(), `subscribed to ${this.options.label}`);
    try {
      await this.options.onSubscribed?.();
      if (restored) await this.options.onRestored?.();
    } catch (error) {
      if (epoch === this.epoch) this.options.log.warn({ err: error, ...this.logContext() }, `${this.options.label}: set-up after subscribing failed`);
    }
    if (connection !== this.connection) return;
    this.firstSetUpDone = true;
    this.endFirstWait();
  }

  private onClose(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.interrupted = true;
    this.options.log.warn(this.logContext(), `${this.options.label} subscription lost; reconnecting`);
    try {
      this.options.onInterrupted?.();
    } catch (error) {
      this.options.log.error({ err: error, ...this.logContext() }, `${this.options.label}: interruption handler failed`);
    }
  }

  private logContext(): { connection: string | undefined; channels: string[]; patterns?: string[] } {
    return {
      connection: this.connection?.options.connectionName,
      channels: [...this.channels],
      ...(this.patterns.size > 0 ? { patterns: [...this.patterns] } : {}),
    };
  }
}
