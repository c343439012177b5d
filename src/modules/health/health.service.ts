import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Db } from '../../db/prisma.ts';
import type { CheckResult, HealthReport, RedisReport } from './health.schemas.ts';

const CHECK_TIMEOUT_MS = 2000;

/** The message store as the health checks see it (the messages module answers). */
export interface MessageStoreProbe {
  readonly storeKind: string;
  pingStore(): Promise<void>;
}

async function timed(probe: () => Promise<unknown>, kind?: string): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { status: 'ok', latency_ms: elapsed(started), ...(kind ? { kind } : {}) };
  } catch (error) {
    const reason = error instanceof Error && /no answer within/.test(error.message) ? error.message : 'unreachable';
    return { status: 'error', latency_ms: elapsed(started), error: reason, ...(kind ? { kind } : {}) };
  } finally {
    clearTimeout(timer);
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly messageStore: MessageStoreProbe,
  ) {}

  uptimeSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 1000);
  }

  async report(): Promise<HealthReport> {
    const [mysql, redis, messageStore] = await Promise.all([
      timed(() => this.db.$queryRaw`SELECT 1`),
      timed(() => this.redis.ping()),
      timed(() => this.messageStore.pingStore(), this.messageStore.storeKind),
    ]);
    const checks = { mysql, redis, message_store: messageStore };
    const failing = Object.entries(checks).filter(([, check]) => check.status !== 'ok').map(([name]) => name);
    if (failing.length === 0) return { status: 'ok', checks };
    return { status: 'error', checks, error: 'service_unavailable', message: `Unavailable: ${failing.join(', ')}` };
  }

  async redisReport(): Promise<RedisReport> {
    const started = performance.now();
    try {
      const info = await this.redis.info();
      return {
        status: 'ok',
        latency_ms: elapsed(started),
        version: infoField(info, 'redis_version') ?? null,
        connected_clients: Number(infoField(info, 'connected_clients') ?? NaN) || null,
        used_memory: Number(infoField(info, 'used_memory') ?? NaN) || null,
      };
    } catch {
      return {
        status: 'error',
        latency_ms: elapsed(started),
        version: null,
        connected_clients: null,
        used_memory: null,
        error: 'service_unavailable',
        message: 'Redis is unavailable',
      };
    }
  }

  async redisRoundTrip() {
    const started = performance.now();
    const key = `health:test:${randomUUID()}`;
    const written = new Date().toISOString();
    const results = await this.redis.multi().set(key, written, 'EX', 60).get(key).del(key).exec();
    return {
      status: 'ok' as const,
      latency_ms: elapsed(started),
      key,
      written,
      read: (results?.[1]?.[1] as string | null) ?? null,
      deleted: results?.[2]?.[1] === 1,
    };
  }
}
