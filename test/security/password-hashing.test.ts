import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bcrypt from 'bcrypt';
import { ConcurrencyLimit, QueueFullError } from '../../src/lib/concurrency-limit.ts';
import { type App, createTestApp, uniqueName } from '../helpers/app.ts';

/**
 * bcrypt runs with bounded concurrency (BCRYPT_CONCURRENCY), so logins never take every core
 * from the event loop. The latency target itself lives in bench/bcrypt.ts, not here.
 */

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('ConcurrencyLimit', () => {
  it('never runs more than its concurrency at once, in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limit.run(async () => {
          started.push(i);
          running += 1;
          peak = Math.max(peak, running);
          await tick();
          running -= 1;
          return i * 2;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(started).toEqual([...Array(10).keys()]);
    expect(results).toEqual([...Array(10).keys()].map((i) => i * 2));
    expect(limit.active).toBe(0);
  });

  it('a failing task frees its slot; beyond maxQueued waiting, run refuses at once', async () => {
    const limit = new ConcurrencyLimit(1, 2);
    await expect(limit.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const slow = [1, 2, 3].map(() => limit.run(tick));
    expect(limit.queued).toBe(2);
    await expect(limit.run(tick)).rejects.toBeInstanceOf(QueueFullError);
    await Promise.all(slow);
    expect(limit.active).toBe(0);
    expect(await limit.run(async () => 'free again')).toBe('free again');
  });
});

describe('BCRYPT_CONCURRENCY', () => {
  let app: App;
  beforeAll(async () => {
    app = await createTestApp({ BCRYPT_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('parallel registrations and logins hash one at a time and all succeed', async () => {
    const before = app.passwordHasher.stats();
    const names = Array.from({ length: 12 }, () => uniqueName('hash'));
    const registered = await Promise.all(
      names.map((username) =>
        app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: `${username}@example.com`, username, password: 'q7#kLm2!x' } }),
      ),
    );
    expect(registered.map((res) => res.statusCode)).toEqual(names.map(() => 201));
    const logins = await Promise.all(
      names.map((username) => app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: username, password: 'q7#kLm2!x' } })),
    );
    expect(logins.map((res) => res.statusCode)).toEqual(names.map(() => 200));
    const after = app.passwordHasher.stats();
    expect(after.hashes - before.hashes).toBe(names.length);
    expect(after.compares - before.compares).toBe(names.length);
    expect(after.peakRunning).toBe(1);
    expect(after).toMatchObject({ running: 0, queued: 0 });
  });

  it('stores a bcrypt hash at BCRYPT_ROUNDS that bcrypt itself accepts', async () => {
    const username = uniqueName('thread');
    const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: `${username}@example.com`, username, password: 'q7#kLm2!x' } });
    expect(res.statusCode).toBe(201);
    const stored = await app.db.user.findUniqueOrThrow({ where: { id: res.json().user.id } });
    expect(stored.passwordHash).toMatch(/^\$2b\$04\$/);
    expect(await bcrypt.compare('q7#kLm2!x', stored.passwordHash)).toBe(true);
  });
});
