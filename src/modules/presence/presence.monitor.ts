import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { RedisSubscription } from '../../plugins/redis-subscription.ts';
import { expiredEventsChannel, ONLINE_KEY_PATTERN, REQUIRED_KEYSPACE_FLAGS } from './presence.keys.ts';
import type { PresenceService } from './presence.service.ts';

const NOTIFY_SETTING = 'notify-keyspace-events';
const ENABLE_ATTEMPTS = 5;
const STOP_GRACE_MS = 3000;
const REAP_BATCH = 1000;
/** Keys are indexed a moment before Redis sets their TTL: look a little after the due time. */
const REAP_MARGIN_MS = 2;
/** Shortest wait between reaps while an entry is due but could not be settled yet. */
const REAP_RETRY_MS = 10;

/**
 * Adds the keyspace-notification flags the monitor needs to those already set, keeping the
 * others ("Kg" stays, "A" already covers "x"). Returns the setting unchanged when it suffices.
 */
export function mergeKeyspaceFlags(current: string, required = REQUIRED_KEYSPACE_FLAGS): string {
  let merged = current;
  for (const flag of required) {
    const covered = merged.includes(flag) || (flag !== 'K' && flag !== 'E' && flag !== 'm' && flag !== 'n' && merged.includes('A'));
    if (!covered) merged += flag;
  }
  return merged;
}

export interface ExpiryOutcome {
  userId: number;
  /** True on the one instance that claimed the expiry (and recorded and published it). */
  claimed: boolean;
  /** event: keyspace notification; reap: due in the expiry index; sweep: orphan found by a scan. */
  source: 'event' | 'reap' | 'sweep';
}

export interface HeartbeatMonitorOptions {
  presence: PresenceService;
  /** A normal (non-subscriber) connection, for CONFIG GET/SET. */
  control: Redis;
  /** Name of the monitor's dedicated subscriber connection (CLIENT SETNAME). */
  connectionName: string;
  /** Opens that connection (app.createRedisConnection). */
  openSubscriber: (connectionName: string) => Redis;
  /** Logical database whose expiries are watched (the db of REDIS_URL). */
  db: number;
  log: FastifyBaseLogger;
  /** Safety-net sweep for expiries nobody heard of (events are at-most-once). */
  sweepIntervalMs: number;
  /** Sweep interval while keyspace notifications cannot be enabled (CONFIG disabled). */
  fallbackSweepIntervalMs: number;
  /**
   * The longest wait between two reaps (default 250 ms); between them the reaper wakes when the
   * next indexed key is due, so an expiry is announced within milliseconds of its due time.
   */
  reapIntervalMs: number;
}

export interface HeartbeatMonitorStats {
  running: boolean;
  notificationsEnabled: boolean;
  /** How many times the subscriber (re)connected, (re)subscribed and was set up. */
  setups: number;
  expiryEvents: number;
  claimed: number;
  /** Due keys touched by the reaper (it makes Redis expire them now). */
  reaped: number;
  sweeps: number;
}

/**
 * The heartbeat monitor: listens on a dedicated subscriber connection to
 * `__keyevent@<db>__:expired`, and when `user:online:{id}` expires marks that user offline
 * (Redis, MySQL) and publishes it. Every instance hears every expiry; the atomic claim in
 * PresenceStore lets exactly one of them act. After every (re)subscribe the notification
 * setting is re-enabled (a restarted Redis forgets it) and orphans are swept up. A reaper
 * touches keys that are due so Redis's lazy expiry cannot delay the event (see reap()).
 */
export class HeartbeatMonitor {
  readonly channel: string;
  private readonly subscription: RedisSubscription;
  private stopped = true;
  private notificationsEnabled = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly listeners = new Set<(outcome: ExpiryOutcome) => void>();
  private readonly counters = { setups: 0, expiryEvents: 0, claimed: 0, reaped: 0, sweeps: 0 };
  private reapTimer: NodeJS.Timeout | undefined;
  private reaping = false;
  private nextBatch: ExpiryBatch | undefined;

  constructor(private readonly options: HeartbeatMonitorOptions) {
    this.channel = expiredEventsChannel(options.db);
    this.subscription = new RedisSubscription({
      label: 'expired-key events',
      connect: () => options.openSubscriber(options.connectionName),
      channels: [this.channel],
      onMessage: (key) => this.onExpiredKey(key),
      onSubscribed: () => this.setUp(),
      log: options.log,
    });
  }

  /**
   * Resolves once subscribed and set up (first sweep done), or after the bounded
   * first-subscribe wait while Redis is down: set-up then runs once Redis answers.
   */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.subscription.start();
    this.scheduleSweep();
    this.scheduleReap(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    clearTimeout(this.reapTimer);
    this.reapTimer = undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight, ...(this.sweeping ? [this.sweeping] : [])]),
      new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref()),
    ]);
    await this.subscription.close();
  }

  /** Called with every expiry this instance heard of, claimed or not (observability, tests). */
  onExpiry(listener: (outcome: ExpiryOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connectionName(): string {
    return this.options.connectionName;
  }

  stats(): HeartbeatMonitorStats {
    return { running: !this.stopped, notificationsEnabled: this.notificationsEnabled, ...this.counters };
  }

  /** Makes sure Redis emits expired-key events, merging with flags already set. */
  async ensureNotifications(): Promise<boolean> {
    for (let attempt = 1; attempt <= ENABLE_ATTEMPTS && !this.stopped; attempt += 1) {
      try {
        const current = await this.readNotifySetting();
        const merged = mergeKeyspaceFlags(current);
        if (merged !== current) {
          await this.options.control.config('SET', NOTIFY_SETTING, merged);
          this.options.log.info({ from: current, to: merged }, 'enabled Redis keyspace notifications for expired keys');
        }
        this.notificationsEnabled = true;
        return true;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // CONFIG renamed or refused (managed Redis): no point retrying, sweeps take over.
        if (/unknown command|NOPERM|not allowed|protected/i.test(message)) {
          this.options.log.warn({ err: error }, 'cannot enable keyspace notifications; expiries are handled by periodic sweeps');
          break;
        }
        if (attempt === ENABLE_ATTEMPTS) this.options.log.warn({ err: error }, 'could not enable keyspace notifications');
        else await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    this.notificationsEnabled = false;
    return false;
  }

  /** Claims every expiry nobody handled (users in `online_users` whose online key is gone). */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = (async () => {
      try {
        this.counters.sweeps += 1;
        for await (const batch of this.options.presence.orphanedOnlineUsers()) {
          if (this.stopped) break;
          await Promise.all(batch.map((userId) => this.handle(userId, 'sweep')));
        }
      } catch (error) {
        this.options.log.warn({ err: error }, 'presence sweep failed');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /**
   * Redis expires keys lazily when most keys with a TTL are long-lived, and says `expired` only
   * when it reclaims one: an online key can outlive its TTL by many seconds. Every instance
   * touches the keys that are due (from the expiry index) so Redis expires them now and emits
   * the event; keys already gone are claimed here (the claim is atomic, so racing the event
   * path is harmless). Costs one ZRANGEBYSCORE per tick plus work for due users only.
   */
  async reap(): Promise<number> {
    if (this.reaping || this.stopped) return 0;
    this.reaping = true;
    try {
      const due = await this.options.presence.dueOnlineUsers(Date.now(), REAP_BATCH);
      if (due.length === 0) return 0;
      this.counters.reaped += due.length;
      const alive = await this.options.presence.onlineFlags(due);
      // Not awaited: the next reap must not wait for these users' MySQL write and publish
      // (handle never rejects; stop() waits for what is in flight).
      for (const userId of due) if (!alive.get(userId)) void this.handle(userId, 'reap');
      // Alive although due (an instance whose clock runs ahead wrote the entry): Redis's TTL
      // is the truth, so re-index them by their real remaining TTL.
      const stillAlive = due.filter((userId) => alive.get(userId));
      if (stillAlive.length > 0) await this.options.presence.reindexDue(stillAlive);
      return due.length;
    } catch (error) {
      this.options.log.warn({ err: error }, 'presence reaper failed');
      return 0;
    } finally {
      this.reaping = false;
    }
  }

  /**
   * One timer per process, set for the earliest due key (at most reapIntervalMs away): polling
   * at a fixed interval made an expiry wait half that interval on average before its event.
   */
  private scheduleReap(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.reapTimer);
    this.reapTimer = setTimeout(() => void this.reapThenReschedule(), delayMs);
    this.reapTimer.unref();
  }

  private async reapThenReschedule(): Promise<void> {
    const reaped = await this.reap();
    if (reaped >= REAP_BATCH) return this.scheduleReap(0);
    let delay = this.options.reapIntervalMs;
    try {
      const next = await this.options.presence.nextDueAt();
      if (next !== null) delay = Math.min(delay, Math.max(REAP_RETRY_MS, next + REAP_MARGIN_MS - Date.now()));
    } catch (error) {
      this.options.log.warn({ err: error }, 'presence reaper could not read the next due time');
    }
    this.scheduleReap(delay);
  }

  /** After every (re)subscribe (RedisSubscription's onSubscribed). */
  private async setUp(): Promise<void> {
    if (this.stopped) return;
    await this.ensureNotifications();
    this.counters.setups += 1;
    this.options.log.debug({ channel: this.channel, setups: this.counters.setups }, 'heartbeat monitor subscribed');
    // Expiries that happened while no subscriber listened (Redis restart, start-up).
    await this.sweep();
  }

  private async readNotifySetting(): Promise<string> {
    const reply = await this.options.control.config('GET', NOTIFY_SETTING);
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
    return '';
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    const delay = this.notificationsEnabled ? this.options.sweepIntervalMs : this.options.fallbackSweepIntervalMs;
    this.sweepTimer = setTimeout(() => {
      void (async () => {
        // Also notices an operator (or a restart) having reset the setting.
        await this.ensureNotifications();
        await this.sweep();
      })().finally(() => this.scheduleSweep());
    }, delay);
    this.sweepTimer.unref();
  }

  private onExpiredKey(key: string): void {
    const match = ONLINE_KEY_PATTERN.exec(key);
    if (!match || this.stopped) return;
    this.counters.expiryEvents += 1;
    void this.handle(Number(match[1]), 'event');
  }

  /**
   * Expiries heard of in one turn of the event loop (a reap, a burst of keyspace events) are
   * handled together: one MySQL statement for all of them instead of one each, which queued
   * behind each other when many keys expired at once.
   */
  private handle(userId: number, source: ExpiryOutcome['source']): Promise<void> {
    let batch = this.nextBatch;
    if (!batch) {
      const created: ExpiryBatch = { sources: new Map(), done: new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.runBatch(created)) };
      batch = this.nextBatch = created;
    }
    if (!batch.sources.has(userId)) batch.sources.set(userId, source);
    const task = batch.done;
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
    return task;
  }

  private async runBatch(batch: ExpiryBatch): Promise<void> {
    if (this.nextBatch === batch) this.nextBatch = undefined;
    const userIds = [...batch.sources.keys()];
    try {
      const claimed = await this.options.presence.expireMany(userIds);
      this.counters.claimed += claimed.size;
      for (const [userId, source] of batch.sources) {
        for (const listener of this.listeners) listener({ userId, claimed: claimed.has(userId), source });
      }
    } catch (error) {
      this.options.log.error({ err: error, userIds }, 'failed to handle presence expiries');
    }
  }
}

interface ExpiryBatch {
  /** The users to claim, each with where it was first heard of. */
  sources: Map<number, ExpiryOutcome['source']>;
  done: Promise<void>;
}
