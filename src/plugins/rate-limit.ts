import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { ipLimitKey } from '../lib/client-ip.ts';
import { rateLimited } from '../lib/errors.ts';
import type { RateLimitName } from './metrics.ts';

/** One counter of a reservation: its key and the most it may reach within the window. */
export interface CounterLimit {
  key: string;
  limit: number;
}

export interface Reservation {
  allowed: boolean;
  /** When refused: seconds until the fullest counter that refused it starts over. */
  retryAfterS: number;
}

/**
 * Takes one slot on every counter, or on none: if any counter already reached its limit, nothing
 * changes and the longest remaining window (ms) is returned. One script, so concurrent callers
 * on every instance see each other's slots (no read-then-write gap).
 * KEYS: the counters; ARGV[1]: window (s); ARGV[1 + i]: the limit of KEYS[i].
 */
const RESERVE_SCRIPT = `
local window = tonumber(ARGV[1])
local blockedMs = -1
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = window * 1000 end
    if ttl > blockedMs then blockedMs = ttl end
  end
end
if blockedMs >= 0 then return blockedMs end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, window, 'NX')
end
return -1
`;

/** Gives one slot back (never below zero, never creating a counter). KEYS[1]: the counter. */
const RELEASE_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
`;

/**
 * The failed-login counters: reserved before bcrypt and kept or given back after it, which a
 * request-rate library cannot do (it counts a request once, on arrival). Kept in Redis, so every
 * instance shares them.
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    /** Told of every refusal, with the limit's name (metrics). */
    private readonly onRefused: (limit: RateLimitName) => void = () => {},
  ) {}

  /**
   * Atomically takes a slot on all `counters` (each within its own limit per `windowS`) before
   * the work they limit starts, so N concurrent callers never get more than the limit's worth.
   * The caller keeps the slots (the attempt counted) or gives them back with `release`/`reset`.
   */
  async reserve(counters: readonly CounterLimit[], windowS: number, name: RateLimitName): Promise<Reservation> {
    const keys = counters.map((counter) => counter.key);
    const limits = counters.map((counter) => String(counter.limit));
    const blockedMs = Number(await this.redis.eval(RESERVE_SCRIPT, keys.length, ...keys, String(windowS), ...limits));
    if (blockedMs < 0) return { allowed: true, retryAfterS: 0 };
    this.onRefused(name);
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil(blockedMs / 1000)) };
  }

  /** Gives back one slot taken by `reserve`. */
  async release(key: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, key);
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

/** Register and login calls a minute per address: AUTH_RATE_PER_IP (the contract's Auth section). */
const AUTH_WINDOW_MS = 60_000;

/**
 * @fastify/rate-limit options for register and login calls per client IP (an IPv6 client by its
 * /64), in Redis so all instances share the count. Registered once more, in a context holding
 * only those routes (`modules/auth`), next to the per-user API limit (`abuse-limits.ts`): both
 * count such a call. `request.ip` is the peer unless it is a proxy named in TRUST_PROXY.
 */
export function authIpRateLimit(app: Pick<FastifyInstance, 'redis' | 'config' | 'metrics'>): RateLimitPluginOptions {
  const { redis, config, metrics } = app;
  return {
    global: true,
    hook: 'onRequest',
    redis,
    nameSpace: 'auth:ip:',
    timeWindow: AUTH_WINDOW_MS,
    max: config.AUTH_RATE_PER_IP,
    keyGenerator: (request) => ipLimitKey(request.ip),
    // Redis out of reach: no waiting for the command to time out (the login's own use of Redis answers 503).
    allowList: () => redis.status !== 'ready',
    skipOnError: true,
    onExceeded: () => metrics.rateLimited('auth_ip'),
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': true },
    errorResponseBuilder: (_request, context) =>
      rateLimited(context.ttl / 1000, `Too many sign-ups and logins: at most ${context.max} a minute from one address`),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimiter: RateLimiter;
  }
}

async function rateLimitPlugin(app: FastifyInstance): Promise<void> {
  app.decorate('rateLimiter', new RateLimiter(app.redis, (limit) => app.metrics.rateLimited(limit)));
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['redis', 'metrics'] });
