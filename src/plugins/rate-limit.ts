import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';

export interface RateLimitResult {
  allowed: boolean;
  count: number;
  retryAfterS: number;
}

/** Fixed-window counters in Redis, so every instance shares the same limits. */
export class RateLimiter {
  constructor(private readonly redis: Redis) {}

  /** Counts one hit against `key` and says whether it is within `limit` per `windowS`. */
  async hit(key: string, limit: number, windowS: number): Promise<RateLimitResult> {
    const count = await this.increment(key, windowS);
    const allowed = count.value <= limit;
    return { allowed, count: count.value, retryAfterS: allowed ? 0 : count.ttl };
  }

  /** Reads the counter without counting; `blocked` when it already reached `limit`. */
  async peek(key: string, limit: number): Promise<{ blocked: boolean; retryAfterS: number }> {
    const [[, value], [, ttl]] = (await this.redis.multi().get(key).ttl(key).exec()) as [
      [Error | null, string | null],
      [Error | null, number],
    ];
    const blocked = Number(value ?? 0) >= limit;
    return { blocked, retryAfterS: blocked ? Math.max(ttl, 1) : 0 };
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
  app.decorate('rateLimiter', new RateLimiter(app.redis));
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['redis'] });
