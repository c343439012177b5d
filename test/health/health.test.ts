import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import { createUser } from '../helpers/users.ts';

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

const check = { status: 'ok', latency_ms: expect.any(Number) };

describe('health endpoints', () => {
  it('GET /api/health reports every dependency with its latency', async () => {
    const res = await app.inject({ url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      checks: { mysql: check, redis: check, message_store: { ...check, kind: 'mysql' } },
    });
  });

  it('GET /api/health/live and /ready answer 200', async () => {
    expect((await app.inject({ url: '/api/health/live' })).json()).toMatchObject({ status: 'ok', uptime_s: expect.any(Number) });
    const ready = await app.inject({ url: '/api/health/ready' });
    expect(ready.statusCode).toBe(200);
  });

  it('GET /api/health/redis returns server details', async () => {
    const res = await app.inject({ url: '/api/health/redis' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      latency_ms: expect.any(Number),
      version: expect.stringMatching(/^\d+\.\d+/),
      connected_clients: expect.any(Number),
      used_memory: expect.any(Number),
    });
  });

  it('POST /api/health/redis/test does a write/read/delete round trip', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/health/redis/test' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.read).toBe(body.written);
    expect(body.deleted).toBe(true);
    expect(await app.redis.exists(body.key)).toBe(0);
  });

  it('POST /api/health/redis/test is 404 in production', async () => {
    const production = await createTestApp({ NODE_ENV: 'production' });
    try {
      const res = await production.inject({ method: 'POST', url: '/api/health/redis/test' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toBe('not_found');
    } finally {
      await production.close();
    }
  });
});

describe('when a dependency is down', () => {
  it('reports Redis down with 503 naming the failing check', async () => {
    const broken = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1/0' });
    try {
      const res = await broken.inject({ url: '/api/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'error',
        error: 'service_unavailable',
        message: expect.stringContaining('redis'),
        checks: { mysql: check, redis: { status: 'error' } },
      });
      expect((await broken.inject({ url: '/api/health/ready' })).statusCode).toBe(503);
      expect((await broken.inject({ url: '/api/health/redis' })).statusCode).toBe(503);
      expect((await broken.inject({ url: '/api/health/live' })).statusCode).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('answers API calls with 503 service_unavailable, not 500, while MySQL is unreachable', async () => {
    const user = await createUser(app);
    const broken = await createTestApp({ DATABASE_URL: 'mysql://root@127.0.0.1:1/nowhere' });
    try {
      const health = await broken.inject({ url: '/api/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json().checks.mysql.status).toBe('error');
      const me = await broken.inject({ url: '/api/auth/me', headers: user.auth });
      expect(me.statusCode).toBe(503);
      expect(me.json()).toEqual({ error: 'service_unavailable', message: expect.any(String) });
    } finally {
      await broken.close();
    }
  });
});
