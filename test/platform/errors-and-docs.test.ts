import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { type App, createTestApp, testConfig } from '../helpers/app.ts';
import { createUser } from '../helpers/users.ts';

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

describe('error handling', () => {
  it('answers unknown routes with 404 and the error body', async () => {
    const res = await app.inject({ url: '/api/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found', message: 'Route GET /api/nope not found' });
  });

  it('refuses a 10 MB body with 413 before reading it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: `{"email":"${'a'.repeat(10 * 1024 * 1024)}"}`,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('payload_too_large');
  });

  it('hides the details of a 5xx', async () => {
    const probe = await buildApp(testConfig(), { logger: false });
    probe.get('/api/test/boom', async () => {
      throw new Error("SELECT password_hash FROM users WHERE id = 'x' -- at Query.execute (/app/db.ts:12)");
    });
    await probe.ready();
    try {
      const res = await probe.inject({ url: '/api/test/boom' });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: 'internal_error', message: 'Internal server error' });
      expect(res.body).not.toMatch(/SELECT|password_hash|db\.ts/);
    } finally {
      await probe.close();
    }
  });

  it('accepts only plain decimal ids in paths', async () => {
    const user = await createUser(app);
    for (const id of ['0x10', '1e3', '%207', '07', '-1', '0', '2147483648', '1.0']) {
      const res = await app.inject({ url: `/api/profile/${id}`, headers: user.auth });
      expect(res.statusCode, id).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
    expect((await app.inject({ url: `/api/profile/${user.id}`, headers: user.auth })).statusCode).toBe(200);
  });

  it('echoes a request id on every response', async () => {
    const generated = await app.inject({ url: '/api/health/live' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await app.inject({ url: '/api/health/live', headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers['x-request-id']).toBe('trace-123');
  });

  it('allows a browser client through CORS with credentials', async () => {
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/api/auth/me',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });
});

describe('Swagger UI and the OpenAPI document', () => {
  it('serves Swagger UI at /docs', async () => {
    const page = await app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger');
  });

  it('documents every API route with request and response schemas', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: unknown }>> = doc.paths;
    for (const [path, method] of [
      ['/api/auth/register', 'post'],
      ['/api/auth/login/json', 'post'],
      ['/api/auth/login', 'post'],
      ['/api/auth/logout', 'post'],
      ['/api/auth/me', 'get'],
      ['/api/profile/me', 'get'],
      ['/api/profile/me', 'put'],
      ['/api/profile/me/image', 'post'],
      ['/api/profile/me/image', 'delete'],
      ['/api/profile/{user_id}', 'get'],
      ['/api/health', 'get'],
      ['/api/health/live', 'get'],
      ['/api/health/ready', 'get'],
      ['/api/health/redis', 'get'],
      ['/api/health/redis/test', 'post'],
    ] as const) {
      const operation = paths[path]?.[method];
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(Object.keys(operation?.responses ?? {}).length).toBeGreaterThan(0);
    }
    expect(paths['/api/auth/register']?.post?.requestBody).toBeDefined();
    expect(paths['/api/auth/login']?.post?.requestBody).toMatchObject({ content: { 'application/x-www-form-urlencoded': expect.anything() } });
  });

  it('wires the OAuth2 password flow of "Authorize" to POST /api/auth/login', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json();
    expect(doc.components.securitySchemes.OAuth2PasswordBearer).toEqual({
      type: 'oauth2',
      flows: { password: { tokenUrl: '/api/auth/login', scopes: {} } },
    });
    expect(doc.paths['/api/auth/me'].get.security).toEqual(expect.arrayContaining([{ OAuth2PasswordBearer: [] }]));
  });
});
