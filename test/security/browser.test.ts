import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, createTestApp, startTestServer } from '../helpers/app.ts';
import { contractBreach, type ResponseLike } from '../helpers/fuzz.ts';
import { createGroup } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * Browser safety, black-box (the contract's Security section): what a page on another origin can
 * read and change with the victim's `jwt_token` cookie, and what an allowed origin or any
 * bearer token still can. The attack recipes of issue 11: a page on another port of the same
 * host, a sibling subdomain (Sec-Fetch-Site: same-site), a sandboxed page (Origin: null), over
 * REST JSON, a form post (no preflight), multipart and a WebSocket upgrade.
 */

const ALLOWED = 'http://127.0.0.1:5173';
const SECOND_ALLOWED = 'https://chat.example.com';
/** Pages the allow-list does not name: another port of the same hosts, lookalikes, `null`. */
const FOREIGN = ['http://127.0.0.1:5174', 'http://localhost:5173', 'null', 'https://evil.example', 'https://chat.example.com.evil.example', 'http://chat.example.com'];

let server: { app: App; baseUrl: string };
let app: App;
let victim: TestUser;
let peer: TestUser;
let roomId: number;
let cookie: string;

beforeAll(async () => {
  server = await startTestServer({ CORS_ORIGINS: `${ALLOWED}, ${SECOND_ALLOWED}` });
  app = server.app;
  victim = await createUser(app, { prefix: 'victim', displayName: 'Victim' });
  peer = await createUser(app, { prefix: 'peer' });
  roomId = (await createGroup(app, victim, { name: 'csrf target', member_ids: [peer.id] })).id;
  cookie = `jwt_token=${victim.token}`;
});
afterAll(async () => server.app.close());

async function history(): Promise<string[]> {
  const res = await app.inject({ url: `/api/messages/${roomId}`, headers: victim.auth });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as { content: string }[] | { messages: { content: string }[] };
  return (Array.isArray(body) ? body : body.messages).map((message) => message.content);
}

function expectForbidden(res: ResponseLike, what: string): void {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(403);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'forbidden', message: expect.stringContaining('cookie') });
  expect(contractBreach(res, 'POST')).toBeNull();
}

const JSON_TYPE = { 'content-type': 'application/json' };

function multipartAvatar(boundary = 'csrfboundary'): Buffer {
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(256, 7)]);
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

describe('CORS with CORS_ORIGINS set', () => {
  it('an allowed origin is echoed with credentials, on preflight and on the request, and may read Retry-After and X-Request-Id', async () => {
    for (const origin of [ALLOWED, SECOND_ALLOWED]) {
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/api/messages/1',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
      expect(preflight.headers['access-control-allow-credentials']).toBe('true');
      expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');

      const me = await app.inject({ url: '/api/auth/me', headers: { origin, cookie } });
      expect(me.statusCode).toBe(200);
      expect(me.headers['access-control-allow-origin']).toBe(origin);
      expect(me.headers['access-control-allow-credentials']).toBe('true');
      expect(String(me.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/)).toEqual(
        expect.arrayContaining(['retry-after', 'x-request-id']),
      );
      expect(String(me.headers.vary)).toMatch(/origin/i);
    }
  });

  it('a foreign origin (another port, a lookalike, null) is never echoed with credentials: it cannot read the cookie user', async () => {
    for (const origin of FOREIGN) {
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/api/auth/me',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.statusCode, origin).toBe(204);
      expect(preflight.headers['access-control-allow-origin'], origin).toBe('*');
      expect(preflight.headers['access-control-allow-credentials'], origin).toBeUndefined();
      expect(String(preflight.headers['access-control-allow-headers']).toLowerCase(), origin).toContain('authorization');

      // With the cookie the server answers, but `*` without Allow-Credentials: the browser hides it.
      const me = await app.inject({ url: '/api/auth/me', headers: { origin, cookie } });
      expect(me.headers['access-control-allow-origin'], origin).toBe('*');
      expect(me.headers['access-control-allow-credentials'], origin).toBeUndefined();
    }
  });

  it('a bearer token works from any origin (no credentials needed), exposing the same headers', async () => {
    const me = await app.inject({ url: '/api/auth/me', headers: { origin: 'https://evil.example', ...victim.auth } });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.id).toBe(victim.id);
    expect(me.headers['access-control-allow-origin']).toBe('*');
    expect(String(me.headers['access-control-expose-headers']).toLowerCase()).toContain('x-request-id');

    const sent = await app.inject({
      method: 'POST',
      url: `/api/messages/${roomId}`,
      headers: { origin: 'null', 'sec-fetch-site': 'cross-site', ...victim.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'bearer from a foreign page' }),
    });
    expect(sent.statusCode, sent.body).toBe(201);
  });
});

describe('CORS defaults', () => {
  it('outside production: any http://localhost:<port> and http://127.0.0.1:<port>, nothing else', async () => {
    const dev = await createTestApp();
    try {
      for (const origin of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://localhost']) {
        const res = await dev.inject({ url: '/api/health/live', headers: { origin } });
        expect(res.headers['access-control-allow-origin'], origin).toBe(origin);
        expect(res.headers['access-control-allow-credentials'], origin).toBe('true');
      }
      for (const origin of ['null', 'https://localhost:3000', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'http://localhost:3000/x', 'http://[::1]:3000']) {
        const res = await dev.inject({ url: '/api/health/live', headers: { origin } });
        expect(res.headers['access-control-allow-origin'], origin).toBe('*');
        expect(res.headers['access-control-allow-credentials'], origin).toBeUndefined();
      }
    } finally {
      await dev.close();
    }
  });

  it('in production: no origin at all may call with credentials', async () => {
    const prod = await createTestApp({ NODE_ENV: 'production', JWT_SECRET: 'a-random-production-secret-9f3c1e7b2d', HEALTH_TOKEN: 'health-token-0123456789' });
    try {
      for (const origin of ['http://localhost:3000', 'http://127.0.0.1:8000', 'https://chat.example.com']) {
        const res = await prod.inject({ url: '/api/health/live', headers: { origin } });
        expect(res.headers['access-control-allow-origin'], origin).toBe('*');
        expect(res.headers['access-control-allow-credentials'], origin).toBeUndefined();
      }
    } finally {
      await prod.close();
    }
  });
});

describe('cookie-only state changes from a foreign page are refused (403 forbidden)', () => {
  it('REST JSON: sending a message, a friend request, a profile change', async () => {
    const before = await history();
    for (const origin of FOREIGN) {
      const send = await app.inject({ method: 'POST', url: `/api/messages/${roomId}`, headers: { origin, cookie, 'content-type': 'application/json' }, payload: { content: `forged ${origin}` } });
      expectForbidden(send, `send from ${origin}`);
    }
    const friend = await app.inject({ method: 'POST', url: '/api/friends/request', headers: { origin: 'http://127.0.0.1:5174', cookie, 'content-type': 'application/json' }, payload: { user_id: peer.id } });
    expectForbidden(friend, 'friend request');
    const profile = await app.inject({ method: 'PUT', url: '/api/profile/me', headers: { origin: 'null', cookie, 'content-type': 'application/json' }, payload: { display_name: 'Pwned' } });
    expectForbidden(profile, 'profile');
    // An Authorization header that is not a bearer token leaves the cookie as the credential.
    const basic = await app.inject({ method: 'POST', url: `/api/messages/${roomId}`, headers: { origin: 'null', cookie, authorization: 'Basic YTpi', 'content-type': 'application/json' }, payload: { content: 'basic' } });
    expectForbidden(basic, 'basic auth header');
    expect(await history()).toEqual(before);
    const me = await app.inject({ url: '/api/profile/me', headers: victim.auth });
    expect(me.json().user.display_name).toBe('Victim');
  });

  it('judged by Sec-Fetch-Site when there is no Origin: a sibling subdomain (same-site) or another site is refused', async () => {
    for (const site of ['same-site', 'cross-site']) {
      const res = await app.inject({ method: 'POST', url: `/api/messages/${roomId}`, headers: { 'sec-fetch-site': site, cookie, ...JSON_TYPE }, payload: { content: site } });
      expectForbidden(res, site);
    }
  });

  it('a form post (no preflight) and an auto-submitted HTML form: refused, and never parsed as a message', async () => {
    const before = await history();
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'http://127.0.0.1:5174', 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/messages/${roomId}`,
        headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'content=forged+by+a+form',
      });
      expectForbidden(res, JSON.stringify(headers));
    }
    // Even from an allowed page a form body is not a message: JSON routes take JSON only.
    const allowed = await app.inject({
      method: 'POST',
      url: `/api/messages/${roomId}`,
      headers: { origin: ALLOWED, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'content=form+from+allowed',
    });
    expect(allowed.statusCode).toBe(415);
    expect(await history()).toEqual(before);
  });

  it('multipart: an avatar upload and removal from a foreign page', async () => {
    const upload = await app.inject({
      method: 'POST',
      url: '/api/profile/me/image',
      headers: { origin: 'null', cookie, 'content-type': 'multipart/form-data; boundary=csrfboundary' },
      payload: multipartAvatar(),
    });
    expectForbidden(upload, 'upload');
    const remove = await app.inject({ method: 'DELETE', url: '/api/profile/me/image', headers: { origin: 'https://evil.example', cookie } });
    expectForbidden(remove, 'delete');
    const me = await app.inject({ url: '/api/profile/me', headers: victim.auth });
    expect(me.json().user.profile_image_url).toBeNull();
  });

  it('the same requests go through from an allowed origin, this server itself, with a token, or without browser headers', async () => {
    const cases: [string, Record<string, string>][] = [
      ['allowed origin', { origin: ALLOWED, 'sec-fetch-site': 'same-site', cookie }],
      ['own origin', { origin: server.baseUrl, host: new URL(server.baseUrl).host, cookie }],
      ['same-origin, no Origin', { 'sec-fetch-site': 'same-origin', cookie }],
      ['not a browser', { cookie }],
      ['bearer from a foreign page', { origin: 'https://evil.example', cookie, ...victim.auth }],
      ['?token= from a foreign page', { origin: 'null', cookie }],
    ];
    for (const [what, headers] of cases) {
      const query = what.startsWith('?token') ? `?token=${encodeURIComponent(victim.token)}` : '';
      const res = await app.inject({ method: 'POST', url: `/api/messages/${roomId}${query}`, headers: { ...headers, ...JSON_TYPE }, payload: { content: what } });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(201);
    }
    const upload = await app.inject({
      method: 'POST',
      url: '/api/profile/me/image',
      headers: { origin: SECOND_ALLOWED, cookie, 'content-type': 'multipart/form-data; boundary=csrfboundary' },
      payload: multipartAvatar(),
    });
    expect(upload.statusCode, upload.body).toBe(200);
    const removed = await app.inject({ method: 'DELETE', url: '/api/profile/me/image', headers: { origin: server.baseUrl, host: new URL(server.baseUrl).host, cookie } });
    expect(removed.statusCode).toBe(204);
  });

  it('safe methods are not refused: a foreign page may GET (it just cannot read the answer)', async () => {
    const res = await app.inject({ url: `/api/messages/${roomId}`, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

/** An upgrade with the given headers: the open socket, or the HTTP answer that refused it. */
function upgrade(path: string, headers: Record<string, string>): Promise<{ socket: WebSocket } | { status: number; body: string }> {
  const socket = new WebSocket(`${server.baseUrl.replace(/^http/, 'ws')}${path}`, { headers });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => reject(error));
  });
}

async function expectOpen(path: string, headers: Record<string, string>, what: string): Promise<void> {
  const result = await upgrade(path, headers);
  if (!('socket' in result)) throw new Error(`${what}: refused with ${result.status} ${result.body}`);
  const pong = new Promise<string>((resolve) => result.socket.once('message', (data) => resolve(data.toString())));
  result.socket.send(JSON.stringify({ type: 'ping' }));
  const frames = [await pong];
  expect(frames.join(''), what).toMatch(/"type":"(pong|joined|presence_snapshot|system)"/);
  result.socket.close();
}

describe('WebSocket upgrades with the cookie alone', () => {
  it('from a foreign page: refused before the upgrade with 403 and the error body, on /ws/chat and /ws/chat/:room_id', async () => {
    for (const path of ['/ws/chat', `/ws/chat/${roomId}`]) {
      for (const origin of ['http://127.0.0.1:5174', 'null', 'https://evil.example']) {
        const result = await upgrade(path, { origin, cookie });
        expect('status' in result, `${path} from ${origin}`).toBe(true);
        if (!('status' in result)) continue;
        expect(result.status, `${path} from ${origin}`).toBe(403);
        expect(JSON.parse(result.body)).toMatchObject({ error: 'forbidden' });
      }
    }
  });

  it('from an allowed page, this server, with ?token= from any page, or from a non-browser: accepted', async () => {
    await expectOpen('/ws/chat', { origin: ALLOWED, cookie }, 'allowed origin');
    await expectOpen(`/ws/chat/${roomId}`, { origin: server.baseUrl, cookie }, 'own origin');
    await expectOpen(`/ws/chat?token=${encodeURIComponent(victim.token)}`, { origin: 'https://evil.example' }, 'token in the query');
    await expectOpen('/ws/chat', { origin: 'https://evil.example', authorization: `Bearer ${victim.token}` }, 'bearer header');
    await expectOpen('/ws/chat', { cookie }, 'no Origin (not a browser)');
  });
});

describe('request bodies', () => {
  const sendUrl = () => `/api/messages/${roomId}`;

  it('JSON routes take application/json only (415 with the error body otherwise)', async () => {
    for (const [type, payload] of [
      ['application/x-www-form-urlencoded', 'content=x'],
      ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="content"\r\n\r\nx\r\n--b--\r\n'],
      ['text/plain', '{"content":"x"}'],
      ['application/xml', '<content>x</content>'],
      ['application/json-patch+json', '{"content":"x"}'],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: sendUrl(), headers: { ...victim.auth, 'content-type': type }, payload });
      expect(res.statusCode, type).toBe(415);
      expect(res.json()).toMatchObject({ error: 'unsupported_media_type', message: expect.stringContaining('application/json') });
    }
    const noType = await app.inject({ method: 'POST', url: sendUrl(), headers: { ...victim.auth, 'content-length': '15' }, payload: '{"content":"x"}' });
    expect(noType.statusCode).toBeGreaterThanOrEqual(400);
    expect(noType.statusCode).toBeLessThan(500);
    const ok = await app.inject({ method: 'POST', url: sendUrl(), headers: { ...victim.auth, 'content-type': 'Application/JSON; charset=utf-8' }, payload: '{"content":"typed json"}' });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('POST /api/auth/login takes a form only; the avatar upload takes multipart only', async () => {
    const form = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${encodeURIComponent(victim.username)}&password=${encodeURIComponent(victim.password)}`,
    });
    expect(form.statusCode, form.body).toBe(200);
    const asJson = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: { username: victim.username, password: victim.password } });
    expect(asJson.statusCode).toBe(415);
    expect(asJson.json().message).toContain('application/x-www-form-urlencoded');
    const avatarJson = await app.inject({ method: 'POST', url: '/api/profile/me/image', headers: { ...victim.auth, 'content-type': 'application/json' }, payload: { image: 'x' } });
    expect(avatarJson.statusCode).toBe(415);
    expect(avatarJson.json().message).toContain('multipart/form-data');
  });

  it('a Content-Encoding the server does not decode (gzip, deflate, br) is refused with 415, not read as plain', async () => {
    for (const coding of ['gzip', 'deflate', 'br', 'GZIP', 'identity, gzip']) {
      const res = await app.inject({
        method: 'POST',
        url: sendUrl(),
        headers: { ...victim.auth, 'content-type': 'application/json', 'content-encoding': coding },
        payload: gzipSync(JSON.stringify({ content: 'compressed' })),
      });
      expect(res.statusCode, coding).toBe(415);
      expect(res.json().error).toBe('unsupported_media_type');
    }
    const identity = await app.inject({
      method: 'POST',
      url: sendUrl(),
      headers: { ...victim.auth, 'content-type': 'application/json', 'content-encoding': 'identity' },
      payload: JSON.stringify({ content: 'identity' }),
    });
    expect(identity.statusCode).toBe(201);
  });
});
