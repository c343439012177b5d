import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildOptions, buildApp } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import { type App, createTestApp, testConfig } from '../helpers/app.ts';
import { createGroup } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * Security headers on every response, Swagger UI working under them, DOCS_ENABLED, the health
 * token, and request ids (the contract's Security section, issue 11).
 */

/** A production app: strong secret, given health token unless `overrides` says otherwise. */
const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'a-random-production-secret-9f3c1e7b2d', HEALTH_TOKEN: 'health-token-0123456789' };


const HEALTH_TOKEN = 'health-token-0123456789';

/** Log lines of `guarded`, which runs with info logs. */
const lines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(chunk.toString());
    done();
  },
});

let app: App; // development defaults
let prod: App; // production, health token set
let prodBare: App; // production, docs switched on, no health token
let guarded: App; // development, docs switched off, health token set, info logs
let user: TestUser;
beforeAll(async () => {
  const started = async (config: Config, logger: BuildOptions['logger']) => {
    const built = await buildApp(config, { logger });
    await built.ready();
    return built;
  };
  [app, prod, prodBare, guarded] = await Promise.all([
    createTestApp(),
    createTestApp(PRODUCTION),
    createTestApp({ ...PRODUCTION, HEALTH_TOKEN: '', DOCS_ENABLED: 'true' }),
    started(testConfig({ LOG_LEVEL: 'info', DOCS_ENABLED: 'false', HEALTH_TOKEN }), { level: 'info', stream: logStream }),
  ]);
  user = await createUser(app, { prefix: 'headers' });
});
afterAll(async () => Promise.all([app, prod, prodBare, guarded].map((each) => each?.close())));

function expectSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['x-frame-options'], what).toBe('DENY');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  const csp = String(headers['content-security-policy']);
  expect(csp, what).toMatch(/default-src 'self'/);
  expect(csp, what).toMatch(/script-src 'self'(;|$)/);
  expect(csp, what).toMatch(/frame-ancestors 'none'/);
  expect(csp, what).toMatch(/object-src 'none'/);
}

/** The CSP's sources for one directive (falling back to default-src, as browsers do). */
function sources(csp: string, directive: string): string[] {
  const entries = new Map(csp.split(';').map((part) => part.trim().split(/\s+/)).map(([name = '', ...values]) => [name, values]));
  return entries.get(directive) ?? entries.get('default-src') ?? [];
}

describe('security headers', () => {
  it('are on every kind of response: JSON, errors, 404, preflight, uploads', async () => {
    const answers = {
      live: await app.inject({ url: '/api/health/live' }),
      me: await app.inject({ url: '/api/auth/me', headers: user.auth }),
      unauthorized: await app.inject({ url: '/api/auth/me' }),
      notFound: await app.inject({ url: '/api/nope' }),
      badBody: await app.inject({ method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'text/plain' }, payload: 'x' }),
      preflight: await app.inject({ method: 'OPTIONS', url: '/api/auth/me', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' } }),
    };
    for (const [what, res] of Object.entries(answers)) expectSecurityHeaders(res.headers, what);
    expect(answers.live.headers['strict-transport-security']).toBeUndefined();
  });

  it('HSTS in production only; uploads may be shown by a web client on another site', async () => {
    const res = await prod.inject({ url: '/api/health/live' });
    expectSecurityHeaders(res.headers, 'production');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
    expect(String(res.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
    const boundary = 'hdrboundary';
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(128, 1)]);
    const upload = await app.inject({
      method: 'POST',
      url: '/api/profile/me/image',
      headers: { ...user.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
        png,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
    expect(upload.statusCode, upload.body).toBe(200);
    const file = await app.inject({ url: new URL(upload.json().user.profile_image_url, 'http://x').pathname });
    expect(file.statusCode).toBe(200);
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(file.headers['cross-origin-resource-policy']).toBe('cross-origin');
  });
});

describe('Swagger UI under the CSP', () => {
  it('serves /docs, every script and stylesheet it names, and /docs/json; the CSP allows all of them and the page has no inline script', async () => {
    const page = await app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expectSecurityHeaders(page.headers, '/docs/');
    const csp = String(page.headers['content-security-policy']);

    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const [, attributes = '', inline = ''] of scripts) {
      expect(attributes, 'every script is a file').toMatch(/\ssrc="/);
      expect(inline.trim(), 'no inline script').toBe('');
    }
    expect(page.body).not.toMatch(/\son[a-z]+=/i); // no inline event handlers (script-src-attr 'none')
    expect(page.body).not.toMatch(/<style\b/i);

    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      const url = new URL(asset, 'http://self.example/docs/');
      expect(url.origin, `${asset} is same-origin`).toBe('http://self.example');
      const res = await app.inject({ url: url.pathname });
      expect(res.statusCode, asset).toBe(200);
      const kind = /\.js$/.test(url.pathname) ? 'script-src' : /\.css$/.test(url.pathname) ? 'style-src' : 'img-src';
      expect(sources(csp, kind), `${kind} allows ${asset}`).toContain("'self'");
    }
    // The initializer fetches the document from this origin (connect-src 'self').
    const initializer = await app.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain("resolveUrl('./json')");
    expect(sources(csp, 'connect-src')).toContain("'self'");
    const doc = await app.inject({ url: '/docs/json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().components.securitySchemes.OAuth2PasswordBearer.flows.password.tokenUrl).toBe('/api/auth/login');
  });

  it('Authorize (form login from the docs page, with a stale cookie) and Try it out (bearer) work', async () => {
    const self = { origin: 'http://localhost', host: 'localhost', 'sec-fetch-site': 'same-origin' };
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { ...self, cookie: `jwt_token=${user.token}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${encodeURIComponent(user.username)}&password=${encodeURIComponent(user.password)}&grant_type=password&scope=`,
    });
    expect(login.statusCode, login.body).toBe(200);
    const token: string = login.json().access_token;
    const tryIt = await app.inject({
      method: 'PUT',
      url: '/api/profile/me',
      headers: { ...self, authorization: `Bearer ${token}`, cookie: `jwt_token=${token}`, 'content-type': 'application/json' },
      payload: { status_message: 'from swagger' },
    });
    expect(tryIt.statusCode, tryIt.body).toBe(200);
  });
});

describe('DOCS_ENABLED', () => {
  it('defaults to on outside production and off in production; can be set either way', async () => {
    const cases: [string, App, number][] = [
      ['development', app, 200],
      ['development, DOCS_ENABLED=false', guarded, 404],
      ['production', prod, 404],
      ['production, DOCS_ENABLED=true', prodBare, 200],
    ];
    for (const [what, probe, status] of cases) {
      for (const url of ['/docs', '/docs/json', '/docs/static/swagger-ui-bundle.js']) {
        const res = await probe.inject({ url });
        expect(res.statusCode, `${url} in ${what}`).toBe(status);
        if (status === 404) expect(res.json().error).toBe('not_found');
      }
    }
  });
});

describe('GET /api/health/redis', () => {
  it('needs Authorization: Bearer <HEALTH_TOKEN> when one is set (401 without, 403 wrong); other health routes stay open', async () => {
    const missing = await guarded.inject({ url: '/api/health/redis' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ error: 'invalid_token', message: expect.stringContaining('HEALTH_TOKEN') });
    expect(missing.body).not.toMatch(/version|used_memory/);
    const jwtInstead = await guarded.inject({ url: '/api/health/redis', headers: user.auth });
    expect(jwtInstead.statusCode).toBe(403);
    const wrong = await guarded.inject({ url: '/api/health/redis', headers: { authorization: 'Bearer health-token-0123456780' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toBe('forbidden');
    const right = await guarded.inject({ url: '/api/health/redis', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
    expect(right.statusCode).toBe(200);
    expect(right.json().version).toMatch(/^\d+\./);
    for (const url of ['/api/health', '/api/health/live', '/api/health/ready']) expect((await guarded.inject({ url })).statusCode, url).toBe(200);
    // Without HEALTH_TOKEN outside production it stays open for development.
    expect((await app.inject({ url: '/api/health/redis' })).statusCode).toBe(200);
  });

  it('in production without HEALTH_TOKEN: not served (404); with it: served to its holder', async () => {
    const res = await prodBare.inject({ url: '/api/health/redis', headers: { authorization: 'Bearer anything-at-all-here' } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('not_found');
    expect((await prodBare.inject({ url: '/api/health/live' })).statusCode).toBe(200);
    expect((await prod.inject({ url: '/api/health/redis' })).statusCode).toBe(401);
    expect((await prod.inject({ url: '/api/health/redis', headers: { authorization: `Bearer ${HEALTH_TOKEN}` } })).statusCode).toBe(200);
  });
});

describe('request ids', () => {
  it('keeps a client X-Request-Id only when it is a short plain token, and never echoes or logs anything else', async () => {
    for (const safe of ['trace-123', 'a'.repeat(64), 'Abc.def_0-9', '4bf92f3577b34da6a3ce929d0e0e4736']) {
      const res = await guarded.inject({ url: '/api/health/live', headers: { 'x-request-id': safe } });
      expect(res.headers['x-request-id']).toBe(safe);
    }
    const hostile = ['a'.repeat(65), '${jndi:ldap://evil.example/x}', 'id with spaces', '<script>', 'x\u00e9', 'a,b', '../../etc'];
    for (const value of hostile) {
      const res = await guarded.inject({ url: '/api/health/live', headers: { 'x-request-id': value } });
      expect(res.headers['x-request-id'], value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const twice = await guarded.inject({ url: '/api/health/live', headers: { 'x-request-id': ['one', 'two'] } });
    expect(twice.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const log = lines.join('');
    expect(log).toContain('"reqId":"trace-123"');
    for (const value of hostile) expect(log, value).not.toContain(JSON.stringify(value).slice(1, -1));
  });

  it("a room route's access line names the request, its user and its room", async () => {
    const room = await createGroup(guarded, user, { name: 'logged' });
    const res = await guarded.inject({ method: 'POST', url: `/api/messages/${room.id}`, headers: { ...user.auth, 'x-request-id': 'send-log-1' }, payload: { content: 'hi' } });
    expect(res.statusCode).toBe(201);
    const line = lines.join('').split('\n').find((each) => each.includes('"reqId":"send-log-1"') && each.includes('request completed'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ reqId: 'send-log-1', userId: user.id, roomId: room.id, statusCode: 201 });
  });
});
