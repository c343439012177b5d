import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { redisDbIndex } from '../../src/lib/redis-url.ts';
import { expiredEventsChannel, parsePresenceChange, presenceChannel, type PresenceChange } from '../../src/modules/presence/presence.keys.ts';
import type { App } from '../helpers/app.ts';
import type { TestUser } from '../helpers/users.ts';

/** Accepted friendship straight in the table (not through the friends module's routes). */
export async function befriend(app: App, a: number, b: number, options: { publish?: boolean } = {}): Promise<void> {
  await app.db.friendship.create({
    data: { requesterId: a, addresseeId: b, userLowId: Math.min(a, b), userHighId: Math.max(a, b), status: 'accepted' },
  });
  if (options.publish) await app.events.publish({ type: 'friendship_changed', user_ids: [a, b], status: 'accepted' });
}

export async function unfriend(app: App, a: number, b: number, options: { publish?: boolean } = {}): Promise<void> {
  await app.db.friendship.deleteMany({ where: { userLowId: Math.min(a, b), userHighId: Math.max(a, b) } });
  if (options.publish) await app.events.publish({ type: 'friendship_changed', user_ids: [a, b], status: 'ended' });
}

export async function block(app: App, blockerId: number, blockedId: number, options: { publishEnded?: boolean } = {}): Promise<void> {
  await app.db.blockUser.create({ data: { blockerId, blockedId } });
  await app.db.friendship.deleteMany({ where: { userLowId: Math.min(blockerId, blockedId), userHighId: Math.max(blockerId, blockedId) } });
  if (options.publishEnded) await app.events.publish({ type: 'friendship_changed', user_ids: [blockerId, blockedId], status: 'ended' });
  await app.events.publish({ type: 'block_changed', blocker_id: blockerId, blocked_id: blockedId, blocked: true });
}

export async function login(app: App, user: TestUser): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: user.email, password: user.password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json().access_token as string;
}

export async function logout(app: App, token: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: `Bearer ${token}` } });
  if (res.statusCode !== 204) throw new Error(`logout failed: ${res.statusCode} ${res.body}`);
}

export async function dbPresence(app: App, userId: number): Promise<{ isOnline: boolean; lastSeenAt: Date | null }> {
  return app.db.user.findUniqueOrThrow({ where: { id: userId }, select: { isOnline: true, lastSeenAt: true } });
}

/** A plain Redis connection on this test run's db (close with .disconnect()). */
export function testRedis(): Redis {
  return new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
}

export const runRedisDb = (): number => redisDbIndex(inject('redisUrl'));

/** Records every presence change published on Redis (over all instances), with arrival time. */
export class ChangeRecorder {
  readonly changes: (PresenceChange & { receivedAt: number })[] = [];
  readonly expiries = new Map<number, number[]>();
  private constructor(private readonly connection: Redis) {}

  static async start(): Promise<ChangeRecorder> {
    const connection = testRedis();
    const recorder = new ChangeRecorder(connection);
    connection.on('message', (channel: string, message: string) => {
      const now = Date.now();
      if (channel === presenceChannel(runRedisDb())) {
        const change = parsePresenceChange(message);
        if (change) recorder.changes.push({ ...change, receivedAt: now });
        return;
      }
      const match = /^user:online:(\d+)$/.exec(message);
      if (match) {
        const userId = Number(match[1]);
        recorder.expiries.set(userId, [...(recorder.expiries.get(userId) ?? []), now]);
      }
    });
    await connection.subscribe(presenceChannel(runRedisDb()), expiredEventsChannel(runRedisDb()));
    return recorder;
  }

  of(userId: number, isOnline?: boolean): (PresenceChange & { receivedAt: number })[] {
    return this.changes.filter((change) => change.user_id === userId && (isOnline === undefined || change.is_online === isOnline));
  }

  /** Resolves with the arrival time of the first expiry of user:online:{userId} after `after`. */
  async expiryOf(userId: number, after: number, timeoutMs = 8000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.expiries.get(userId)?.find((time) => time >= after);
      if (at !== undefined) return at;
      if (Date.now() > deadline) throw new Error(`user:online:${userId} did not expire within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until check() passes (or throws its last error after timeoutMs). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 3000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
