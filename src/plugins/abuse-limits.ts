import { randomUUID } from 'node:crypto';
import fastifyRateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor, normalizeIP } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis, Result } from 'ioredis';
import { type AppError, rateLimited } from '../lib/errors.ts';
import { type ApiCallCounter, extractToken } from './auth.ts';
import type { RateLimitName } from './metrics.ts';

/**
 * Per-user abuse limits (the contract's Security section), shared by every instance through
 * Redis. API calls are limited by @fastify/rate-limit (its headers, 429 and allow-list) on the
 * count of `apiCallStore`: a signed-in call is counted by `authenticate` in the round trip that
 * checks its token's revocation, any other in the store itself. What it cannot count has
 * its own counter here, each one Lua script so that concurrent instances never race:
 *
 * - messages, REST and WebSocket together: a token bucket (rate per second, burst);
 * - rooms created (groups and new direct rooms): a sliding one-hour log;
 * - open sockets and open SSE streams: leases in a sorted set per user, scored by their expiry.
 *   The instance holding a lease renews it every LEASE_MS / 3 and removes it when the
 *   connection closes; the leases of an instance that crashed expire by themselves.
 *
 * Every script reads the clock of Redis (TIME), so instances whose clocks differ still agree.
 * A limit that cannot reach Redis lets the action through (logged): the limits guard against
 * abuse, they must not turn a Redis hiccup into refusals of their own.
 */

/** The verdict on one action: allowed, or refused with the 429 to answer. */
export type LimitDecision = { allowed: true } | { allowed: false; error: AppError };

/**
 * The verdict on one message: when allowed, `giveBack` returns its token (for a resend of a
 * stored message, which sends nothing new: it never uses up the budget). Never rejects.
 */
export type MessageDecision = { allowed: true; giveBack: () => void } | { allowed: false; error: AppError };

/** A slot of a concurrency limit (a socket, a stream): `release` frees it (idempotent). */
export type SlotDecision = { allowed: true; release: () => void } | { allowed: false; error: AppError };

export interface AbuseLimits {
  /**
   * One message sent, over REST or WebSocket (MESSAGE_RATE_PER_USER a second, bursts of
   * MESSAGE_BURST_PER_USER). With the `request` of a route whose `config.sendsMessage` is set,
   * the token its authentication already took is used (one Redis round trip fewer).
   */
  message(userId: number, request?: FastifyRequest): Promise<MessageDecision>;
  /** One room about to be created: a group or a new direct room (ROOM_CREATE_PER_HOUR). */
  roomCreation(userId: number): Promise<LimitDecision>;
  /** One WebSocket about to be accepted (MAX_SOCKETS_PER_USER open at once). */
  socket(userId: number): Promise<SlotDecision>;
  /** One SSE stream about to be served (MAX_STREAMS_PER_USER open at once). */
  stream(userId: number): Promise<SlotDecision>;
}

/**
 * Takes one of the user's stream slots for an SSE response, or throws the 429. The slot goes with
 * the response: it is freed when that closes, however the stream ends (client gone, token
 * expired, a failure before it started).
 */
export async function takeStreamSlot(limits: Pick<AbuseLimits, 'stream'>, userId: number, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const slot = await limits.stream(userId);
  if (!slot.allowed) throw slot.error;
  // A stream lasts: from now on the stream limit counts it, not the user's request lanes.
  laneLeavers.get(request)?.();
  reply.raw.once('close', slot.release);
  if (request.raw.socket.destroyed) slot.release();
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route sends one message (its handler calls `abuseLimits.message` with the request):
     * authentication takes the message token in the script that checks revocation and counts
     * the API call; a token the handler does not use is given back once the response is sent.
     */
    sendsMessage?: boolean;
  }
  interface FastifyInstance {
    abuseLimits: AbuseLimits;
    /**
     * For `authenticate` when it refuses a token: counts the call against the client's address,
     * as an anonymous call (such a request never reaches the route's API limit), then throws
     * 429 when that is over API_RATE_PER_IP, else `error`.
     */
    refusedAuthentication(request: FastifyRequest, error: unknown): Promise<never>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    abuseTokenBucket(key: string, ratePerS: number, burst: number): Result<[number, number], Context>;
    abuseTokenReturn(key: string, burst: number): Result<number, Context>;
    abuseSlidingLog(key: string, limit: number, windowMs: number, member: string): Result<[number, number], Context>;
    abuseLeaseAcquire(key: string, max: number, leaseMs: number, member: string): Result<number, Context>;
    abuseLeaseRenew(key: string, leaseMs: number, ...members: string[]): Result<number, Context>;
    abuseApiCall(key: string, windowMs: number): Result<[number, number], Context>;
    abuseApiCallUnlessRevoked(revokedKey: string, key: string, windowMs: number): Result<[number, number], Context>;
    abuseApiCallAndMessageUnlessRevoked(
      revokedKey: string,
      key: string,
      bucketKey: string,
      windowMs: number,
      apiMax: number,
      ratePerS: number,
      burst: number,
    ): Result<[number, number, number, number], Context>;
  }
}

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Takes a token of the bucket `key` (its rate per second and burst in `rate` and `burst`):
 * sets `allowed` (1 when taken, else 0) and `wait` (ms until one is available). Needs NOW_MS.
 */
const tokenBucketLua = (key: string, rateArg: string, burstArg: string) => `local rate = tonumber(${rateArg})
local burst = tonumber(${burstArg})
local state = redis.call('HMGET', ${key}, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', ${key}, 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', ${key}, math.ceil(burst * 1000 / rate) + 1000)`;

/**
 * KEYS[1] the bucket; ARGV: tokens per second, burst. Returns {1, 0} when a token was taken,
 * else {0, ms until one is available}.
 */
const TOKEN_BUCKET_LUA = `${NOW_MS}
${tokenBucketLua('KEYS[1]', 'ARGV[1]', 'ARGV[2]')}
return {allowed, wait}`;

/**
 * KEYS[1] the bucket; ARGV: burst. Puts one token back (never above the burst). A bucket gone
 * meanwhile has expired full: nothing to return. Returns 1 when a token was put back.
 */
const TOKEN_RETURN_LUA = `local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens == nil then
  return 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(tonumber(ARGV[1]), tokens + 1)))
return 1`;

/**
 * KEYS[1] the log; ARGV: limit, window (ms), a unique member. Returns {1, 0} when the action
 * was recorded, else {0, ms until the oldest entry leaves the window}.
 */
const SLIDING_LOG_LUA = `${NOW_MS}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}`;

/**
 * KEYS[1] a user's leases (member → expiry in ms); ARGV: max, lease (ms), member. Expired
 * leases (a crashed instance's) are dropped first. Returns 1 when the lease was taken.
 */
const LEASE_ACQUIRE_LUA = `${NOW_MS}
local max = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('PEXPIRE', KEYS[1], lease)
return 1`;

/**
 * KEYS[1] a user's leases; ARGV: lease (ms), then the members this instance still holds. Each
 * gets a new expiry; one that had already expired (the instance stalled) is put back, since its
 * connection is still open.
 */
const LEASE_RENEW_LUA = `${NOW_MS}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease)
return #ARGV - 1`;

/**
 * One API call on the counter `key`, with @fastify/rate-limit's own Redis-store rule (neither
 * continueExceeding nor exponentialBackoff): the window starts at the first call. ARGV[1]: the
 * window (ms). Sets `current` (calls in the window) and `ttl` (ms until it ends). Hand-written rather than the
 * library's RedisStore (not part of its public API) so that both scripts below share one rule.
 */
const apiCallLua = (key: string) => `local current = redis.call('INCR', ${key})
local ttl = tonumber(ARGV[1])
if current == 1 then
  redis.call('PEXPIRE', ${key}, ttl)
else
  ttl = redis.call('PTTL', ${key})
end`;

/** KEYS[1] the counter; ARGV[1] the window (ms). Returns {calls in the window, ms until it ends}. */
const API_CALL_LUA = `${apiCallLua('KEYS[1]')}
return {current, ttl}`;

/** KEYS[1] a token's revocation key, KEYS[2] the counter; ARGV[1] the window (ms). {0, 0} when revoked (nothing counted). */
const API_CALL_UNLESS_REVOKED_LUA = `if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, 0}
end
${apiCallLua('KEYS[2]')}
return {current, ttl}`;

/**
 * A send route's authentication: KEYS[1] the token's revocation key, KEYS[2] the API counter,
 * KEYS[3] the user's message bucket; ARGV: the API window (ms), the user's API limit, the
 * bucket's rate per second and burst. Returns {calls, ms until the window ends, message token,
 * ms until one is available}: {0, 0, 0, 0} when revoked (nothing counted or taken); the token is
 * 1 when taken, 0 when refused, -1 when the call is over its API limit (not asked: it gets that 429).
 */
const API_CALL_AND_MESSAGE_UNLESS_REVOKED_LUA = `if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, 0, 0, 0}
end
${apiCallLua('KEYS[2]')}
if current > tonumber(ARGV[2]) then
  return {current, ttl, -1, 0}
end
${NOW_MS}
${tokenBucketLua('KEYS[3]', 'ARGV[3]', 'ARGV[4]')}
return {current, ttl, allowed, wait}`;

function defineScripts(redis: Redis): void {
  if (typeof redis.abuseTokenBucket === 'function') return;
  redis.defineCommand('abuseTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  redis.defineCommand('abuseTokenReturn', { numberOfKeys: 1, lua: TOKEN_RETURN_LUA });
  redis.defineCommand('abuseSlidingLog', { numberOfKeys: 1, lua: SLIDING_LOG_LUA });
  redis.defineCommand('abuseLeaseAcquire', { numberOfKeys: 1, lua: LEASE_ACQUIRE_LUA });
  redis.defineCommand('abuseLeaseRenew', { numberOfKeys: 1, lua: LEASE_RENEW_LUA });
  redis.defineCommand('abuseApiCall', { numberOfKeys: 1, lua: API_CALL_LUA });
  redis.defineCommand('abuseApiCallUnlessRevoked', { numberOfKeys: 2, lua: API_CALL_UNLESS_REVOKED_LUA });
  redis.defineCommand('abuseApiCallAndMessageUnlessRevoked', { numberOfKeys: 3, lua: API_CALL_AND_MESSAGE_UNLESS_REVOKED_LUA });
}

/**
 * While Redis is out of reach every action would log the same warning: one line per kind of
 * failure every 10 s, with the number left out since the last one.
 */
export class ThrottledWarnings {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(kind: string, context: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const entry = this.last.get(kind);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return;
    }
    this.last.set(kind, { at: now, suppressed: 0 });
    this.log.warn({ ...context, ...(entry?.suppressed ? { suppressed: entry.suppressed } : {}) }, message);
  }
}

const KEY_PREFIX = 'abuse:';
const HOUR_MS = 3_600_000;
/** A refused socket or stream may try again after this; a slot frees as soon as one closes. */
const SLOT_RETRY_AFTER_S = 5;

/** Token bucket per user, one Lua call per action. */
export class TokenBucketLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    readonly ratePerS: number,
    readonly burst: number,
  ) {
    defineScripts(redis);
  }

  /** Takes a token; refused with the milliseconds until the next one. */
  async take(userId: number): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const [allowed, waitMs] = await this.redis.abuseTokenBucket(this.key(userId), this.ratePerS, this.burst);
    return { allowed: allowed === 1, retryAfterMs: waitMs };
  }

  /** Returns a token taken by `take`. */
  async giveBack(userId: number): Promise<void> {
    await this.redis.abuseTokenReturn(this.key(userId), this.burst);
  }

  /** The user's bucket, for a script that takes its token along with other work (see countWithAuthentication). */
  key(userId: number): string {
    return `${KEY_PREFIX}${this.name}:${userId}`;
  }
}

/** At most `limit` actions per user in any `windowMs` (a sorted set of their times). */
export class SlidingWindowLimiter {
  private sequence = 0;
  private readonly instanceId = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    defineScripts(redis);
  }

  async take(userId: number): Promise<{ allowed: boolean; retryAfterMs: number }> {
    this.sequence += 1;
    const member = `${this.instanceId}:${this.sequence}`;
    const [allowed, waitMs] = await this.redis.abuseSlidingLog(`${KEY_PREFIX}${this.name}:${userId}`, this.limit, this.windowMs, member);
    return { allowed: allowed === 1, retryAfterMs: waitMs };
  }
}

export interface ConcurrencyLimiterOptions {
  /** How long a lease lives unless renewed (default 30 s): how late a crashed instance's slots free. */
  leaseMs?: number;
  /** How often this instance renews its leases (default a third of the lease). */
  renewIntervalMs?: number;
}

/**
 * At most `max` things (sockets, streams) open per user over all instances. Each open one is a
 * lease in Redis that this instance keeps renewing while it holds it; closing removes it.
 */
export class ConcurrencyLimiter {
  readonly leaseMs: number;
  private readonly renewIntervalMs: number;
  private readonly instanceId = randomUUID();
  private sequence = 0;
  /** user id → the members (lease ids) this instance holds for them. */
  private readonly held = new Map<number, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly warnings: ThrottledWarnings;

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly max: number,
    private readonly log: FastifyBaseLogger,
    options: ConcurrencyLimiterOptions = {},
  ) {
    defineScripts(redis);
    this.warnings = new ThrottledWarnings(log);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.renewIntervalMs = options.renewIntervalMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
  }

  /** Leases held on this instance (all users). */
  get localCount(): number {
    let count = 0;
    for (const members of this.held.values()) count += members.size;
    return count;
  }

  /**
   * Takes a slot for `userId`; `release` frees it. When Redis cannot be reached the slot is
   * granted and held locally (renewing puts it into Redis once Redis is back).
   */
  async acquire(userId: number): Promise<{ allowed: true; release: () => void } | { allowed: false }> {
    this.start();
    this.sequence += 1;
    const member = `${this.instanceId}:${this.sequence}`;
    try {
      if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`);
      const taken = await this.redis.abuseLeaseAcquire(this.key(userId), this.max, this.leaseMs, member);
      if (taken !== 1) return { allowed: false };
    } catch (error) {
      this.warnings.warn('acquire', { err: error, userId, limit: this.name }, 'concurrency limit unavailable: slot granted');
    }
    let members = this.held.get(userId);
    if (!members) {
      members = new Set();
      this.held.set(userId, members);
    }
    members.add(member);
    let released = false;
    return {
      allowed: true,
      release: () => {
        if (released) return;
        released = true;
        this.releaseMember(userId, member);
      },
    };
  }

  /** Renews every lease this instance holds, one script call per user, in one pipeline. */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [userId, members] of this.held) pipeline.abuseLeaseRenew(this.key(userId), this.leaseMs, ...members);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  /** Starts renewing (done on the first acquire). */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      this.renew().catch((error: unknown) => this.log.warn({ err: error, limit: this.name }, 'could not renew connection leases'));
    }, this.renewIntervalMs);
    this.timer.unref();
  }

  /**
   * Stops renewing and gives back every lease still held (shutdown). With `abandon` the leases
   * are left to expire, as after a crash (tests).
   */
  async stop(options: { abandon?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const held = [...this.held];
    this.held.clear();
    if (options.abandon || held.length === 0) return;
    try {
      const pipeline = this.redis.pipeline();
      for (const [userId, members] of held) pipeline.zrem(this.key(userId), ...members);
      await pipeline.exec();
    } catch (error) {
      this.log.warn({ err: error, limit: this.name }, 'could not give back connection leases (they expire by themselves)');
    }
  }

  private releaseMember(userId: number, member: string): void {
    const members = this.held.get(userId);
    if (!members?.delete(member)) return;
    if (members.size === 0) this.held.delete(userId);
    if (this.stopped) return;
    this.redis.zrem(this.key(userId), member).catch((error: unknown) => {
      this.warnings.warn('release', { err: error, userId, limit: this.name }, 'could not release a connection lease (it expires by itself)');
    });
  }

  private key(userId: number): string {
    return `${KEY_PREFIX}${this.name}:${userId}`;
  }
}

/**
 * A request's place in its user's lanes: `ready` resolves true once it may run, false if it left
 * the line first; `leave` (idempotent) frees its lane or takes it out of the line.
 */
export interface LaneTicket {
  ready: Promise<boolean>;
  leave: () => void;
}

interface UserLanes {
  running: number;
  waiting: ((admitted: boolean) => void)[];
}

/**
 * At most `maxRunning` requests of one user are handled at once by this instance; the next ones
 * wait their turn in arrival order, and beyond `maxWaiting` waiting ones more are refused. It
 * shapes how much of this process one user occupies at a time: a flood of heavy calls by one
 * user (issue 11: 24 loops of a 100-room list) keeps a few lanes of the event loop instead of
 * all of it, so other users' requests and health probes are answered in between. In memory: it
 * is about this process's event loop, not a budget shared by instances (that is the API limit).
 */
export class UserRequestLanes {
  private readonly users = new Map<number, UserLanes>();

  constructor(
    private readonly maxRunning: number,
    private readonly maxWaiting: number,
  ) {}

  /** A ticket for one request, or undefined when too many of the user's requests already wait. */
  enter(userId: number): LaneTicket | undefined {
    let lanes = this.users.get(userId);
    if (!lanes) {
      lanes = { running: 0, waiting: [] };
      this.users.set(userId, lanes);
    }
    if (lanes.running < this.maxRunning) {
      lanes.running += 1;
      return { ready: Promise.resolve(true), leave: this.leaver(userId, lanes, () => true) };
    }
    if (lanes.waiting.length >= this.maxWaiting) return undefined;
    let admitted = false;
    let answer: (admitted: boolean) => void = () => {};
    const ready = new Promise<boolean>((resolve) => {
      answer = (value) => {
        admitted = value;
        resolve(value);
      };
    });
    const queue = lanes.waiting;
    queue.push(answer);
    const leave = this.leaver(userId, lanes, () => {
      if (admitted) return true;
      // Gone before its turn (the client closed): out of the line, holding no lane.
      queue.splice(queue.indexOf(answer), 1);
      answer(false);
      return false;
    });
    return { ready, leave };
  }

  /** Requests of `userId` running now (tests, diagnostics). */
  runningOf(userId: number): number {
    return this.users.get(userId)?.running ?? 0;
  }

  /** Frees the lane (handing it to the next in line) if `holdsLane()` says the ticket held one. */
  private leaver(userId: number, lanes: UserLanes, holdsLane: () => boolean): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (!holdsLane()) return;
      const next = lanes.waiting.shift();
      if (next) return next(true);
      lanes.running -= 1;
      if (lanes.running === 0 && lanes.waiting.length === 0) this.users.delete(userId);
    };
  }
}

/** How many of one user's requests may wait for a lane, per allowed running one. */
const WAITING_PER_LANE = 25;
/** Requests freeing their lane early (streams that outlive their request), by request. */
const laneLeavers = new WeakMap<FastifyRequest, () => void>();

/**
 * Puts every signed-in request of the routes declared from here on into its user's lanes (after
 * authentication and the API limit, so a refusal never waits). WebSocket upgrades leave the HTTP
 * server at once and are not counted; SSE streams leave their lane once their stream slot is taken.
 */
function requestLanes(app: FastifyInstance): void {
  const perUser = app.config.API_CONCURRENCY_PER_USER;
  const lanes = new UserRequestLanes(perUser, perUser * WAITING_PER_LANE);
  const takeLane = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.auth || isUnlimited(request)) return;
    const ticket = lanes.enter(request.auth.userId);
    if (!ticket) {
      app.metrics.rateLimited('api');
      throw rateLimited(1, `Too many requests at once: at most ${perUser} at a time, ${perUser * WAITING_PER_LANE} more waiting`);
    }
    reply.raw.once('close', ticket.leave);
    laneLeavers.set(request, ticket.leave);
    // The client may have hung up while authentication awaited Redis: 'close' has then been
    // emitted already and would never free the lane (the user would be locked out for good).
    if (request.raw.socket?.destroyed === true) {
      ticket.leave();
      throw rateLimited(1, 'The connection closed before the request took its turn');
    }
    // Closed while waiting: nobody is left to answer, so the request goes no further.
    if (!(await ticket.ready)) throw rateLimited(1, 'The request was closed while it waited for its turn');
  };
  app.addHook('onRoute', (route) => {
    if (route.websocket) return;
    route.onRequest = [route.onRequest ?? []].flat().concat(takeLane);
  });
}

/** Health probes are never limited (a flood must not make an instance look dead). */
const UNLIMITED_PREFIXES = ['/api/health'];

/** True for the routes outside the API call limit (the document lists no 429 for them). */
export function isUnlimitedUrl(url: string): boolean {
  return UNLIMITED_PREFIXES.some((prefix) => url === prefix || url.startsWith(`${prefix}/`));
}

function isUnlimited(request: FastifyRequest): boolean {
  return isUnlimitedUrl(request.routeOptions.url ?? request.url);
}

/** Anonymous calls are counted first (see `countAnonymousCalls`): the route's hook skips them. */
const countedEarly = new WeakSet<FastifyRequest>();

/** The API rate key: the signed-in user, else the client's address. */
function apiRateKey(request: FastifyRequest): string {
  return request.auth ? `user:${request.auth.userId}` : `ip:${normalizeIP(request.ip)}`;
}

const API_NAMESPACE = `${KEY_PREFIX}api:`;
const API_WINDOW_MS = 60_000;

/** What a store reports of a count: calls in the window and ms until it ends. */
interface CallCount {
  current: number;
  ttl: number;
}

/**
 * Marks a key whose call was counted already (by `authenticate`): the count rides in the key
 * to `apiCallStore`, which @fastify/rate-limit gives nothing else of the request. No API rate
 * key contains `#`.
 */
const COUNTED_MARK = '#counted:';

function withCount(key: string, count: CallCount): string {
  return `${key}${COUNTED_MARK}${count.current}:${count.ttl}`;
}

function countIn(key: string): CallCount | undefined {
  const at = key.indexOf(COUNTED_MARK);
  if (at < 0) return undefined;
  const [current, ttl] = key.slice(at + COUNTED_MARK.length).split(':').map(Number);
  return current !== undefined && ttl !== undefined ? { current, ttl } : undefined;
}

/**
 * The API limit's store: the count `authenticate` already made for the request when its key
 * carries one, else one call counted in Redis now (anonymous calls, and signed-in ones that
 * were not counted with their revocation check).
 */
function apiCallStore(redis: Redis): FastifyRateLimitStoreCtor {
  return class ApiCallStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: CallCount) => void, timeWindow: number): void {
      const counted = countIn(key);
      if (counted) return callback(null, counted);
      redis.abuseApiCall(`${API_NAMESPACE}${key}`, timeWindow).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(): FastifyRateLimitStore {
      throw new Error('The API limit has no per-route variants (its count is made by authenticate)');
    }
  };
}

/**
 * Routes the API limit covers: those declared from here on, as @fastify/rate-limit's own hook
 * (no route sets its own `config.rateLimit`); health probes never.
 */
function limitedRoutes(app: FastifyInstance): (request: FastifyRequest) => boolean {
  const routes = new Set<string>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.add(`${method} ${route.url}`);
  });
  return (request) => !isUnlimited(request) && routes.has(`${request.method} ${request.routeOptions.url}`);
}

/** What a token bucket answered: taken, or refused with the ms until the next one. */
interface BucketVerdict {
  allowed: boolean;
  retryAfterMs: number;
}

/** Message tokens taken by a send route's authentication, until its handler uses them. */
const takenWithAuthentication = new WeakMap<FastifyRequest, BucketVerdict>();

/**
 * The revocation check and API count of a request; on a send route (`config.sendsMessage`) its
 * message token in the same script, unless the call is over its API limit (its 429 comes first).
 */
function countCall(app: FastifyInstance, messages: TokenBucketLimiter, request: FastifyRequest, userId: number, revokedKey: string): Promise<CallCount | undefined> {
  const counter = `${API_NAMESPACE}user:${userId}`;
  if (request.routeOptions.config.sendsMessage !== true) {
    return app.redis.abuseApiCallUnlessRevoked(revokedKey, counter, API_WINDOW_MS).then(([current, ttl]) => (current === 0 ? undefined : { current, ttl }));
  }
  const apiMax = app.config.API_RATE_PER_USER;
  return app.redis
    .abuseApiCallAndMessageUnlessRevoked(revokedKey, counter, messages.key(userId), API_WINDOW_MS, apiMax, messages.ratePerS, messages.burst)
    .then(([current, ttl, token, waitMs]) => {
      if (current === 0) return undefined;
      if (token !== -1) takenWithAuthentication.set(request, { allowed: token === 1, retryAfterMs: waitMs });
      return { current, ttl };
    });
}

/**
 * Counts a signed-in call with its revocation check (TokenService.verify), when the route's
 * API limit is still to run; the limit's key generator then hands that count to the store.
 */
function countWithAuthentication(
  app: FastifyInstance,
  isLimitedRoute: (request: FastifyRequest) => boolean,
  messages: TokenBucketLimiter,
): (request: FastifyRequest) => string {
  const { redis } = app;
  const counts = new WeakMap<FastifyRequest, CallCount>();
  /** Requests whose API limit has run (a route may authenticate later, in its handler). */
  const limitRan = new WeakSet<FastifyRequest>();
  const counter: ApiCallCounter = {
    countUnlessRevoked: (request, userId, revokedKey) => {
      if (limitRan.has(request) || countedEarly.has(request) || redis.status !== 'ready' || !isLimitedRoute(request)) return undefined;
      return countCall(app, messages, request, userId, revokedKey).then((count) => {
        if (!count) return true;
        counts.set(request, count);
        return false;
      });
    },
  };
  app.tokens.countCallsWith(counter);
  return (request) => {
    limitRan.add(request);
    const key = apiRateKey(request);
    const count = counts.get(request);
    return count ? withCount(key, count) : key;
  };
}

async function abuseLimitsPlugin(app: FastifyInstance): Promise<void> {
  const { config, redis, metrics } = app;
  const log = app.log.child({ component: 'abuse-limits' });
  const warnings = new ThrottledWarnings(log);
  defineScripts(redis);
  const isLimitedRoute = limitedRoutes(app);
  const messages = new TokenBucketLimiter(redis, 'messages', config.MESSAGE_RATE_PER_USER, config.MESSAGE_BURST_PER_USER);

  // API calls. The hook is onRequest, but @fastify/rate-limit adds it to each route's own
  // onRequest hooks, which Fastify runs after the shared ones: a route's `app.authenticate`
  // (shared or its own, listed first) has set `request.auth` by then, and usually counted the
  // call too (countWithAuthentication). A request refused by authentication is not counted on
  // the user; everything else is, before its body is read.
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    store: apiCallStore(redis),
    timeWindow: API_WINDOW_MS,
    keyGenerator: countWithAuthentication(app, isLimitedRoute, messages),
    max: (_request, key) => (key.startsWith('user:') ? config.API_RATE_PER_USER : config.API_RATE_PER_IP),
    // Redis out of reach: let the call through at once rather than after the command times out
    // (the route's own use of Redis answers 503 if it needs it).
    allowList: (request) => isUnlimited(request) || countedEarly.has(request) || redis.status !== 'ready',
    skipOnError: true,
    onExceeded: () => metrics.rateLimited('api'),
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    errorResponseBuilder: (request, context) =>
      rateLimited(
        context.ttl / 1000,
        request.auth
          ? `Too many requests: at most ${context.max} a minute per user`
          : `Too many requests: at most ${context.max} a minute from one address without signing in`,
      ),
  });

  countAnonymousCalls(app, isLimitedRoute);
  requestLanes(app);
  const roomCreations = new SlidingWindowLimiter(redis, 'room-creations', config.ROOM_CREATE_PER_HOUR, HOUR_MS);
  const sockets = new ConcurrencyLimiter(redis, 'sockets', config.MAX_SOCKETS_PER_USER, log);
  const streams = new ConcurrencyLimiter(redis, 'streams', config.MAX_STREAMS_PER_USER, log);

  /**
   * Runs a counter; a Redis failure lets the action through, and so does a Redis connection that
   * is not ready (no waiting for a command to time out: the action's own Redis use decides).
   */
  const verdict = (limit: RateLimitName, { allowed, retryAfterMs }: BucketVerdict, refusal: () => string): LimitDecision => {
    if (allowed) return { allowed: true };
    metrics.rateLimited(limit);
    return { allowed: false, error: rateLimited(retryAfterMs / 1000, refusal()) };
  };

  const decide = async (userId: number, limit: RateLimitName, take: () => Promise<BucketVerdict>, refusal: () => string): Promise<LimitDecision> => {
    try {
      if (redis.status !== 'ready') throw new Error(`Redis is ${redis.status}`);
      return verdict(limit, await take(), refusal);
    } catch (error) {
      warnings.warn(limit, { err: error, userId, limit }, 'abuse limit unavailable: action allowed');
      return { allowed: true };
    }
  };

  const slot = async (limiter: ConcurrencyLimiter, limit: RateLimitName, userId: number, refusal: string): Promise<SlotDecision> => {
    const decision = await limiter.acquire(userId);
    if (decision.allowed) return decision;
    metrics.rateLimited(limit);
    return { allowed: false, error: rateLimited(SLOT_RETRY_AFTER_S, refusal) };
  };

  const giveBack = (userId: number) => {
    messages.giveBack(userId).catch((error: unknown) => warnings.warn('message_return', { err: error, userId }, 'could not give a message token back'));
  };
  const messageRefusal = () => `Too many messages: at most ${config.MESSAGE_RATE_PER_USER} a second (bursts of ${config.MESSAGE_BURST_PER_USER})`;

  const message = async (userId: number, request?: FastifyRequest): Promise<MessageDecision> => {
    const taken = request && takenWithAuthentication.get(request);
    if (request && taken) takenWithAuthentication.delete(request);
    const decision = taken ? verdict('message', taken, messageRefusal) : await decide(userId, 'message', () => messages.take(userId), messageRefusal);
    if (!decision.allowed) return decision;
    return { allowed: true, giveBack: () => giveBack(userId) };
  };

  // A send refused before its handler (a 400 body, a full line of requests) sent nothing: its token goes back.
  const giveBackUnused = async (request: FastifyRequest): Promise<void> => {
    const taken = takenWithAuthentication.get(request);
    if (!taken || !request.auth) return;
    takenWithAuthentication.delete(request);
    if (taken.allowed) giveBack(request.auth.userId);
  };
  app.addHook('onRoute', (route) => {
    if (route.config?.sendsMessage === true) route.onResponse = [route.onResponse ?? []].flat().concat(giveBackUnused);
  });

  const limits: AbuseLimits = {
    message,
    roomCreation: (userId) =>
      decide(userId, 'room_create', () => roomCreations.take(userId), () =>
        `Too many rooms created: at most ${config.ROOM_CREATE_PER_HOUR} an hour`),
    socket: (userId) => slot(sockets, 'socket', userId, `Too many open WebSocket connections: at most ${config.MAX_SOCKETS_PER_USER}`),
    stream: (userId) => slot(streams, 'stream', userId, `Too many open streams: at most ${config.MAX_STREAMS_PER_USER}`),
  };
  app.decorate('abuseLimits', limits);

  app.addHook('onClose', async () => {
    await Promise.all([sockets.stop(), streams.stop()]);
  });
}

/**
 * A call that `authenticate` refuses never reaches the route's API limit (its hook runs after
 * authentication), so a flood without a token or with a forged one would go uncounted. Both are
 * counted against the client's address in the same @fastify/rate-limit counter as other
 * anonymous calls (API_RATE_PER_IP): one without any token here, before the route's hooks;
 * one with a token that fails verification by `refusedAuthentication`, which `authenticate` calls.
 */
function countAnonymousCalls(app: FastifyInstance, isLimitedRoute: (request: FastifyRequest) => boolean): void {
  // No options: the plugin's own store, key (the address, as `request.auth` is null) and limits.
  const anonymousCall = app.createRateLimit();
  const refuseWhenOver = async (request: FastifyRequest): Promise<void> => {
    const verdict = await anonymousCall(request);
    // Only now: the allow-list of that same call would otherwise let it through uncounted.
    countedEarly.add(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    app.metrics.rateLimited('api');
    throw rateLimited(verdict.ttlInSeconds, `Too many requests: at most ${verdict.max} a minute from one address without signing in`);
  };

  app.addHook('onRequest', async (request) => {
    if (extractToken(request) === undefined && isLimitedRoute(request)) await refuseWhenOver(request);
  });

  app.decorate('refusedAuthentication', async (request: FastifyRequest, error: unknown): Promise<never> => {
    if (!countedEarly.has(request) && isLimitedRoute(request)) await refuseWhenOver(request);
    throw error;
  });
}

export default fp(abuseLimitsPlugin, { name: 'abuse-limits', dependencies: ['redis', 'auth', 'metrics'] });
