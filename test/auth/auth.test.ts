import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { type App, createTestApp, testConfig, uniqueName } from '../helpers/app.ts';
import { createUser } from '../helpers/users.ts';

let app: App;
let other: App;

beforeAll(async () => {
  app = await createTestApp();
  other = await createTestApp();
});
afterAll(async () => {
  await app.close();
  await other.close();
});

function registration() {
  const username = uniqueName('reg');
  return { email: `${username}@Example.com`, username, password: 'long-enough-pw' };
}

describe('POST /api/auth/register', () => {
  it('creates the user and returns it with 201', async () => {
    const body = { ...registration(), display_name: '홍길동 🎉' };
    const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: body });
    expect(res.statusCode).toBe(201);
    const { user } = res.json();
    expect(user).toMatchObject({
      email: body.email.toLowerCase(),
      username: body.username,
      display_name: '홍길동 🎉',
      is_online: false,
      profile_image_url: null,
    });
    expect(user.password_hash).toBeUndefined();
    expect(user.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const stored = await app.db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.passwordHash).toMatch(/^\$2[aby]\$/);
  });

  it('refuses a duplicate email or username with 409 conflict', async () => {
    const body = registration();
    expect((await app.inject({ method: 'POST', url: '/api/auth/register', payload: body })).statusCode).toBe(201);
    const sameEmail = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { ...body, username: uniqueName('x') } });
    expect(sameEmail.statusCode).toBe(409);
    expect(sameEmail.json()).toMatchObject({ error: 'conflict' });
    const sameName = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { ...body, email: `${uniqueName('y')}@example.com`, username: body.username.toUpperCase() },
    });
    expect(sameName.statusCode).toBe(409);
  });

  it.each([
    ['short username', { username: 'ab' }],
    ['username with symbols', { username: 'bad-name!' }],
    ['long username', { username: 'a'.repeat(51) }],
    ['short password', { password: 'short' }],
    ['long password', { password: 'p'.repeat(129) }],
    ['bad email', { email: 'not-an-email' }],
    ['wrong types', { username: 12345, password: ['x'] }],
  ])('rejects %s with 400 validation_error', async (_name, change) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { ...registration(), ...change } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'validation_error', message: expect.any(String) });
    expect(Array.isArray(res.json().details)).toBe(true);
  });

  it('rejects malformed JSON, an empty body and a missing field with 400', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toBe('validation_error');
    const empty = await app.inject({ method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' } });
    expect(empty.statusCode).toBe(400);
    const missing = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: 'a@b.co' } });
    expect(missing.statusCode).toBe(400);
  });

  it('rejects an unsupported content type with 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toBe('unsupported_media_type');
  });
});

describe('login', () => {
  it('JSON login returns a bearer token and marks the user online in MySQL', async () => {
    const user = await createUser(app);
    const res = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: user.email, password: user.password } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600, user: { id: user.id, is_online: true } });
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: String(user.id), jti: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) });
    expect(res.cookies.find((cookie) => cookie.name === 'jwt_token')?.httpOnly).toBe(true);
    const stored = await app.db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.isOnline).toBe(true);
    expect(await app.redis.exists(`user:online:${user.id}`)).toBe(1);
    expect(await app.redis.sismember('online_users', String(user.id))).toBe(1);
  });

  it('OAuth2 form login accepts a username or an email', async () => {
    const user = await createUser(app);
    for (const identifier of [user.username, user.email]) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'password', username: identifier, password: user.password }).toString(),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ token_type: 'bearer', user: { id: user.id } });
    }
  });

  it('gives the same 401 invalid_credentials for a wrong email and a wrong password', async () => {
    const user = await createUser(app);
    const wrongPassword = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: user.email, password: 'wrong-password' } });
    const wrongEmail = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: 'nobody@example.com', password: user.password } });
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongEmail.statusCode).toBe(401);
    expect(wrongPassword.json()).toEqual(wrongEmail.json());
    expect(wrongPassword.json().error).toBe('invalid_credentials');
  });

  it('rejects a login without a password with 400', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: 'a@b.co' } });
    expect(res.statusCode).toBe(400);
  });
});

describe('token handling', () => {
  it('accepts the token from the header, the token query parameter and the jwt_token cookie', async () => {
    const user = await createUser(app);
    const viaHeader = await app.inject({ url: '/api/auth/me', headers: user.auth });
    const viaQuery = await app.inject({ url: `/api/auth/me?token=${user.token}` });
    const viaCookie = await app.inject({ url: '/api/auth/me', cookies: { jwt_token: user.token } });
    for (const res of [viaHeader, viaQuery, viaCookie]) {
      expect(res.statusCode).toBe(200);
      expect(res.json().user).toMatchObject({ id: user.id, email: user.email, username: user.username });
    }
  });

  it('rejects a missing, forged or expired token with 401 invalid_token', async () => {
    const user = await createUser(app);
    const missing = await app.inject({ url: '/api/auth/me' });
    const forged = createSigner({ key: 'some-other-secret-entirely', algorithm: 'HS256' })({ sub: String(user.id), jti: 'x' });
    const expired = createSigner({ key: 'test-secret-0123456789abcdef-0123456789', algorithm: 'HS256' })({
      sub: String(user.id),
      jti: 'y',
      iat: 1_600_000_000,
      exp: 1_600_000_100,
    });
    for (const res of [
      missing,
      await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${forged}` } }),
      await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${expired}` } }),
      await app.inject({ url: '/api/auth/me', headers: { authorization: 'Bearer not.a.jwt' } }),
    ]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_token', message: expect.any(String) });
    }
  });

  it('logout returns 204, revokes the token on every instance and records last_seen_at', async () => {
    const user = await createUser(app);
    expect((await other.inject({ url: '/api/auth/me', headers: user.auth })).statusCode).toBe(200);
    const before = Date.now();
    const logout = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: user.auth });
    expect(logout.statusCode).toBe(204);
    expect(logout.body).toBe('');
    expect((await app.inject({ url: '/api/auth/me', headers: user.auth })).statusCode).toBe(401);
    const elsewhere = await other.inject({ url: '/api/auth/me', headers: user.auth });
    expect(elsewhere.statusCode).toBe(401);
    expect(elsewhere.json().error).toBe('invalid_token');
    const stored = await app.db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.isOnline).toBe(false);
    expect(stored.lastSeenAt?.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(await app.redis.exists(`user:online:${user.id}`)).toBe(0);
    expect(await app.redis.get(`user:last_seen:${user.id}`)).toBe(stored.lastSeenAt?.toISOString());
  });

  it('authenticateOptional lets anonymous requests through and attaches a valid token', async () => {
    const probe = await buildApp(testConfig(), { logger: false });
    probe.get('/api/test/whoami', { onRequest: probe.authenticateOptional }, async (request) => ({ user_id: request.auth?.userId ?? null }));
    await probe.ready();
    try {
      const user = await createUser(probe);
      expect((await probe.inject({ url: '/api/test/whoami' })).json()).toEqual({ user_id: null });
      expect((await probe.inject({ url: '/api/test/whoami', headers: user.auth })).json()).toEqual({ user_id: user.id });
      expect((await probe.inject({ url: '/api/test/whoami', headers: { authorization: 'Bearer forged' } })).json()).toEqual({ user_id: null });
    } finally {
      await probe.close();
    }
  });

  it('logout without a token is 401', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/logout' });
    expect(res.statusCode).toBe(401);
  });
});

describe('rate limits', () => {
  it('limits failed logins per account with 429 and Retry-After, shared across instances', async () => {
    const limited = await createTestApp({ LOGIN_MAX_FAILURES: '3' });
    const limitedOther = await createTestApp({ LOGIN_MAX_FAILURES: '3' });
    try {
      const user = await createUser(limited);
      const attempt = (target: App, password: string) =>
        target.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: user.email, password } });
      expect((await attempt(limited, 'wrong-1')).statusCode).toBe(401);
      expect((await attempt(limitedOther, 'wrong-2')).statusCode).toBe(401);
      expect((await attempt(limited, 'wrong-3')).statusCode).toBe(401);
      const blocked = await attempt(limitedOther, user.password);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().error).toBe('rate_limited');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
      await limitedOther.close();
    }
  });

  it('limits register and login calls per IP', async () => {
    const limited = await createTestApp({ AUTH_RATE_PER_IP: '3' });
    try {
      const ip = `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      const call = () =>
        limited.inject({ method: 'POST', url: '/api/auth/login/json', remoteAddress: ip, payload: { email: 'n@example.com', password: 'whatever1' } });
      for (let i = 0; i < 3; i += 1) expect((await call()).statusCode).toBe(401);
      const res = await call();
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await limited.close();
    }
  });
});
