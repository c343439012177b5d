import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { RateLimitName } from './metrics.ts';

export interface RateLimitResult {
  allowed: boolean;
  count: number;
  retryAfterS: number;
}

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

/** Fixed-window counters in Redis, so every instance shares the same limits. */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    /** Told of every refusal, with the limit's name (metrics). */
    private readonly onRefused: (limit: RateLimitName) => void = () => {},
  ) {}

  /** Counts one hit against `key` and says whether it is within `limit` per `windowS`. */
  async hit(key: string, limit: number, windowS: number, name: RateLimitName): Promise<RateLimitResult> {
    const count = await this.increment(key, windowS);
    const allowed = count.value <= limit;
    if (!allowed) this.onRefused(name);
    return { allowed, count: count.value, retryAfterS: allowed ? 0 : count.ttl };
  }

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

  async increment(key: string, windowS: number): Promise<{ value: number; ttl: number }> {
    const results = await this.redis.multi().incr(key).expire(key, windowS, 'NX').ttl(key).exec();
    if (!results) throw new Error('rate limit transaction aborted');
    const value = Number(results[0]?.[1]);
    const ttl = Number(results[2]?.[1]);
    return { value, ttl: ttl > 0 ? ttl : windowS };
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(key);
  }
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
