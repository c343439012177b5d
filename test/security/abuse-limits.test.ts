import { randomInt, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { createSigner } from 'fast-jwt';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, UserRequestLanes } from '../../src/plugins/abuse-limits.ts';
import { type App, createTestApp, startTestServer } from '../helpers/app.ts';
import { createGroup, eventually, makeUsers, openDirect } from '../helpers/rooms.ts';
import { makeFriends } from '../helpers/social.ts';
import { openSse, SseClient } from '../helpers/sse.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * Per-user abuse limits at their default values (the contract's Security section), over two
 * instances sharing MySQL and Redis: API calls, messages over REST and WebSocket together,
 * rooms created, open sockets and open streams. The other suites raise every limit
 * (testConfig); this one sets them back.
 */
const DEFAULT_LIMITS = {
  API_RATE_PER_USER: '600',
  MESSAGE_RATE_PER_USER: '20',
  MESSAGE_BURST_PER_USER: '40',
  ROOM_CREATE_PER_HOUR: '30',
  MAX_SOCKETS_PER_USER: '20',
  MAX_STREAMS_PER_USER: '10',
  // The anonymous limit counts per address, and every suite calls from 127.0.0.1 at once: it
  // is tested at its default on an instance of its own, from addresses no other test uses.
  API_RATE_PER_IP: '1000000',
};

interface Server {
  app: App;
  baseUrl: string;
}

let a: Server;
let b: Server;
const sockets: WsClient[] = [];
const streams: SseClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(DEFAULT_LIMITS), startTestServer(DEFAULT_LIMITS)]);
});

afterEach(() => {
  for (const client of sockets.splice(0)) client.close();
  for (const stream of streams.splice(0)) stream.close();
});

afterAll(async () => {
  await Promise.all([a?.app.close(), b?.app.close()]);
});

const call = (server: Server, user: TestUser, method: 'GET' | 'POST', url: string, payload?: object) =>
  server.app.inject({ method, url, headers: user.auth, ...(payload ? { payload } : {}) });

function expectRateLimited(res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, maxRetryAfterS: number) {
  expect(res.statusCode).toBe(429);
  expect(res.json()).toEqual({ error: 'rate_limited', message: expect.any(String) });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfterS);
}

/** Runs `tasks` with at most `concurrency` in flight. */
async function pooled<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

/** The HTTP answer to a refused upgrade, with its headers. */
function refusedUpgrade(baseUrl: string, token: string, path = '/ws/chat'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}?token=${encodeURIComponent(token)}`);
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    socket.once('error', () => {});
  });
}

/**
 * The commands clients send to the test run's Redis db, as MONITOR lines (a script's own commands,
 * listed with source `lua`, left out). A raw socket: ioredis' monitor mode loses its place in the
 * reply queue when other suites' traffic floods in ("Command queue state error").
 */
async function monitorRedis(url: string): Promise<{ lines: string[]; stop: () => void }> {
  const { hostname, port, pathname } = new URL(url);
  const db = pathname.slice(1) || '0';
  const socket = connectTcp(Number(port || 6379), hostname);
  const lines: string[] = [];
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    const parts = (pending + chunk.toString()).split('\r\n');
    pending = parts.pop() ?? '';
    for (const line of parts) if (line.includes(` [${db} `) && !line.includes(' lua]')) lines.push(line);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('data', () => resolve());
    socket.write('MONITOR\r\n');
  });
  return { lines, stop: () => socket.destroy() };
}

async function connect(server: Server, user: TestUser, path?: string): Promise<WsClient> {
  const client = await WsClient.connect(server.baseUrl, user.token, path);
  sockets.push(client);
  return client;
}

async function stream(server: Server, user: TestUser) {
  const result = await openSse(`${server.baseUrl}/api/online-status/stream?token=${user.token}`);
  if (result instanceof SseClient) streams.push(result);
  return result;
}

describe('API calls per user (API_RATE_PER_USER, default 600 a minute)', () => {
  it('counts one user over both instances, then answers 429 rate_limited with Retry-After; others and health are untouched', async () => {
    const [flooder, other] = await makeUsers(a.app, 2, 'lim_api');
    const results = await pooled(
      Array.from({ length: 600 }, (_, i) => () => call(i % 2 === 0 ? a : b, flooder!, 'GET', '/api/auth/me')),
      25,
    );
    expect(results.filter((res) => res.statusCode === 200)).toHaveLength(600);
    // Below the limit no rate headers are sent.
    expect(Object.keys(results[0]!.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);

    for (const server of [a, b]) {
      const refused = await call(server, flooder!, 'GET', '/api/auth/me');
      expectRateLimited(refused, 60);
      expect(refused.json().message).toContain('600');
      expect(refused.headers['x-ratelimit-limit']).toBe('600');
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      expect(refused.headers['x-ratelimit-reset']).toBe(refused.headers['retry-after']);
    }
    // Every route counts, WebSocket upgrades included: refused before any socket.
    expectRateLimited(await call(a, flooder!, 'GET', '/api/chat-rooms'), 60);
    const upgrade = await refusedUpgrade(b.baseUrl, flooder!.token);
    expect(upgrade.status).toBe(429);
    expect(upgrade.headers['x-ratelimit-limit']).toBe('600');
    // Each call counted once, refused ones included, in one counter for both instances.
    expect(Number(await a.app.redis.get(`abuse:api:user:${flooder!.id}`))).toBe(604);
    const ttl = await a.app.redis.pttl(`abuse:api:user:${flooder!.id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    expect((await call(a, other!, 'GET', '/api/auth/me')).statusCode).toBe(200);
    expect((await a.app.inject({ url: '/api/health/live', headers: flooder!.auth })).statusCode).toBe(200);
  });
});

describe('a signed-in call asks Redis once before its handler', () => {
  it('the revocation check and the API count are one script, not an EXISTS and a count', async () => {
    const [user] = await makeUsers(a.app, 1, 'lim_once');
    const url = '/api/auth/me';
    // Once seen, the account is known active: from then on the combined check runs.
    expect((await call(a, user!, 'GET', url)).statusCode).toBe(200);
    const counter = `abuse:api:user:${user!.id}`;
    const { jti } = JSON.parse(Buffer.from(user!.token.split('.')[1]!, 'base64url').toString()) as { jti: string };
    const monitor = await monitorRedis(a.app.config.REDIS_URL);
    try {
      const before = Number(await a.app.redis.get(counter));
      expect((await call(a, user!, 'GET', url)).statusCode).toBe(200);
      expect(Number(await a.app.redis.get(counter))).toBe(before + 1);
      // MONITOR keeps Redis' order: once the second GET of the counter is in, so is the call's traffic.
      const ours = () => monitor.lines.filter((line) => line.includes(counter) || line.includes(`auth:revoked:${jti}`));
      await eventually(() => ours().filter((line) => /"get"/i.test(line)).length >= 2);
      const checks = ours().filter((line) => !/"get"/i.test(line));
      expect(checks, checks.join('\n')).toHaveLength(1);
      expect(checks[0]).toMatch(/"eval(sha)?" .*"auth:revoked:.*"abuse:api:user:/i);
    } finally {
      monitor.stop();
    }
  });
});

describe('a send asks Redis once before it is stored', () => {
  it("its authentication takes the message token in the script that checks revocation and counts the API call", async () => {
    const [sender, peer] = await makeUsers(a.app, 2, 'lim_sendonce');
    const room = await createGroup(a.app, sender!, { name: 'send once', member_ids: [peer!.id] });
    const url = `/api/messages/${room.id}`;
    // Once seen, the account is known active: from then on the combined check runs.
    expect((await call(a, sender!, 'POST', url, { content: 'first' })).statusCode).toBe(201);
    const bucket = `abuse:messages:${sender!.id}`;
    const monitor = await monitorRedis(a.app.config.REDIS_URL);
    try {
      expect((await call(a, sender!, 'POST', url, { content: 'second' })).statusCode).toBe(201);
      const marker = `marker:${randomUUID()}`;
      await a.app.redis.get(marker);
      await eventually(() => monitor.lines.some((line) => line.includes(marker)));
      const scripts = monitor.lines.filter((line) => line.includes(bucket));
      expect(scripts, scripts.join('\n')).toHaveLength(1);
      expect(scripts[0]).toMatch(/"eval(sha)?" .*"auth:revoked:.*"abuse:api:user:.*"abuse:messages:/i);
    } finally {
      monitor.stop();
    }
  });
});

describe('anonymous API calls per address (API_RATE_PER_IP, default 1200 a minute)', () => {
  let app: App;
  beforeAll(async () => {
    app = await createTestApp({ ...DEFAULT_LIMITS, API_RATE_PER_IP: '1200' });
  });
  afterAll(async () => app?.close());

  it('limits one address without a token, never health probes nor signed-in users from it', async () => {
    const address = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    const anonymous = () => app.inject({ method: 'POST', url: '/api/auth/login/json', payload: {}, remoteAddress: address });
    const results = await pooled(Array.from({ length: 1200 }, () => anonymous), 25);
    expect(results.filter((res) => res.statusCode === 400)).toHaveLength(1200);

    const refused = await anonymous();
    expectRateLimited(refused, 60);
    expect(refused.json().message).toContain('1200');
    // Another address is not affected.
    expect((await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: {}, remoteAddress: '10.255.255.254' })).statusCode).toBe(400);
    // Probes are never limited.
    for (const url of ['/api/health/live', '/api/health']) {
      const probe = await app.inject({ url, remoteAddress: address });
      expect(probe.statusCode, url).not.toBe(429);
    }
    // A signed-in user on that address counts as themself.
    const [user] = await makeUsers(app, 1, 'lim_ip');
    expect((await app.inject({ url: '/api/auth/me', headers: user!.auth, remoteAddress: address })).statusCode).toBe(200);
  });
});

describe('calls refused by authentication count against the address (API_RATE_PER_IP)', () => {
  let app: App;
  const LIMIT = 20;
  beforeAll(async () => {
    app = await createTestApp({ ...DEFAULT_LIMITS, API_RATE_PER_IP: String(LIMIT) });
  });
  afterAll(async () => app?.close());

  const freshAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
  const forged = createSigner({ key: 'not-the-server-secret-0123456789abcdef', algorithm: 'HS256' });
  const forgedToken = () => forged({ sub: '1', jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 });

  it('a client forging tokens gets 429 like an anonymous flood, on REST and WebSocket routes', async () => {
    const address = freshAddress();
    const forgedCall = (url: string) => app.inject({ url, headers: { authorization: `Bearer ${forgedToken()}` }, remoteAddress: address });
    const answers = await pooled(Array.from({ length: LIMIT }, (_, i) => () => forgedCall(i % 2 ? '/api/chat-rooms' : '/api/auth/me')), 10);
    expect(answers.map((res) => res.statusCode)).toEqual(Array(LIMIT).fill(401));
    expect(answers[0]!.json()).toMatchObject({ error: 'invalid_token' });

    const refused = await forgedCall('/api/chat-rooms');
    expectRateLimited(refused, 60);
    expect(refused.json().message).toContain(String(LIMIT));
    // A garbage token and the socket route are refused the same way.
    expectRateLimited(await app.inject({ url: '/api/chat-rooms/unread', headers: { authorization: 'Bearer not.a.jwt' }, remoteAddress: address }), 60);
    expectRateLimited(await app.inject({ url: `/ws/chat?token=${forgedToken()}`, remoteAddress: address }), 60);
    // A real user on that address counts as themself; another address is not affected.
    const [user] = await makeUsers(app, 1, 'lim_forge');
    expect((await app.inject({ url: '/api/auth/me', headers: user!.auth, remoteAddress: address })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${forgedToken()}` }, remoteAddress: freshAddress() })).statusCode).toBe(401);
  });

  it('a revoked token is refused 401 invalid_token and counted against the address, never on its user', async () => {
    const address = freshAddress();
    const [user] = await makeUsers(app, 1, 'lim_revoked');
    expect((await app.inject({ url: '/api/auth/me', headers: user!.auth, remoteAddress: address })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: user!.auth, remoteAddress: address })).statusCode).toBe(204);
    const userCount = await app.redis.get(`abuse:api:user:${user!.id}`);
    const answers = await pooled(Array.from({ length: LIMIT }, () => () => app.inject({ url: '/api/auth/me', headers: user!.auth, remoteAddress: address })), 10);
    expect(answers.map((res) => res.statusCode)).toEqual(Array(LIMIT).fill(401));
    expect(answers[0]!.json()).toMatchObject({ error: 'invalid_token' });
    expectRateLimited(await app.inject({ url: '/api/auth/me', headers: user!.auth, remoteAddress: address }), 60);
    expect(await app.redis.get(`abuse:api:user:${user!.id}`)).toBe(userCount);
  });

  it('calls without a token to routes that need one, forged tokens and anonymous calls share one count per address', async () => {
    const address = freshAddress();
    const kinds = [
      () => app.inject({ url: '/api/chat-rooms', remoteAddress: address }),
      () => app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${forgedToken()}` }, remoteAddress: address }),
      () => app.inject({ method: 'POST', url: '/api/auth/login/json', payload: {}, remoteAddress: address }),
    ];
    const answers = await pooled(Array.from({ length: LIMIT }, (_, i) => kinds[i % kinds.length]!), 10);
    expect(answers.filter((res) => res.statusCode === 429)).toHaveLength(0);
    for (const kind of kinds) expectRateLimited(await kind(), 60);
    // Probes are never limited, and unknown paths are answered as before (404).
    expect((await app.inject({ url: '/api/health/live', remoteAddress: address })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/no-such-route', remoteAddress: address })).statusCode).toBe(404);
    // Counted once each: the count in Redis is exactly what was asked.
    const ttl = await app.redis.pttl(`abuse:api:ip:${address}`);
    expect(Number(await app.redis.get(`abuse:api:ip:${address}`))).toBe(LIMIT + kinds.length);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});

describe('messages per user, REST and WebSocket together (default 20 a second, bursts of 40)', () => {
  it('the issue recipe, scaled down: a REST flood on A and WebSocket sends on B draw from one bucket', async () => {
    const [sender, peer] = await makeUsers(a.app, 2, 'lim_msg');
    const room = await createGroup(a.app, sender!, { name: 'flood', member_ids: [peer!.id] });
    const ws = await connect(b, sender!);

    const started = Date.now();
    let wsSent = 0;
    const wsTimer = setInterval(() => {
      wsSent += 1;
      ws.send({ type: 'message', room_id: room.id, content: `ws ${wsSent}`, temp_id: `t-${wsSent}` });
    }, 40);
    // 200 REST sends as fast as 10 clients can (the attack sent 550 a second).
    const rest = await pooled(
      Array.from({ length: 200 }, (_, i) => () => call(a, sender!, 'POST', `/api/messages/${room.id}`, { content: `rest ${i}` })),
      10,
    );
    clearInterval(wsTimer);
    const elapsedS = (Date.now() - started) / 1000;
    await eventually(() => ws.frames.filter((f) => f.type === 'ack' || f.type === 'error').length >= wsSent, 5000);

    const restOk = rest.filter((res) => res.statusCode === 201).length;
    const restLimited = rest.filter((res) => res.statusCode === 429);
    const acks = ws.frames.filter((f) => f.type === 'ack');
    const wsLimited = ws.frames.filter((f) => f.type === 'error' && f.code === 'RATE_LIMITED');
    const accepted = restOk + acks.length;
    console.log(`message flood: ${rest.length} REST + ${wsSent} WS in ${elapsedS.toFixed(2)} s → ${accepted} accepted (${restOk} REST, ${acks.length} WS)`);

    expect(restLimited.length).toBeGreaterThan(0);
    expectRateLimited(restLimited[0]!, 60);
    expect(wsLimited.length).toBeGreaterThan(0);
    expect(wsLimited[0]).toEqual({ type: 'error', code: 'RATE_LIMITED', temp_id: expect.stringMatching(/^t-\d+$/), message: expect.any(String) });
    // One bucket: the burst plus the refill over the run, whichever way the messages came.
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(40 + Math.ceil(20 * (elapsedS + 0.5)));
    expect(restOk + acks.length + restLimited.length + wsLimited.length).toBe(rest.length + wsSent);
    // A refused message is never stored.
    const history = await call(a, sender!, 'GET', `/api/messages/${room.id}?limit=100`);
    expect(history.statusCode).toBe(200);
    expect(Math.min(accepted, 100)).toBe(history.json().messages.length);

    // The bucket refills: a second later a message goes through again, on either instance.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await call(b, sender!, 'POST', `/api/messages/${room.id}`, { content: 'after the pause' })).statusCode).toBe(201);
    // The peer has a bucket of their own.
    expect((await call(a, peer!, 'POST', `/api/messages/${room.id}`, { content: 'mine' })).statusCode).toBe(201);
  });
});

describe('resends of a stored message (same client_message_id)', () => {
  // A bucket that refills slowly (1 a second, bursts of 5), so that the resends below outrun it.
  let slowA: Server;
  let slowB: Server;
  beforeAll(async () => {
    const slowBucket = { ...DEFAULT_LIMITS, MESSAGE_RATE_PER_USER: '1', MESSAGE_BURST_PER_USER: '5' };
    [slowA, slowB] = await Promise.all([startTestServer(slowBucket), startTestServer(slowBucket)]);
  });
  afterAll(async () => {
    await Promise.all([slowA?.app.close(), slowB?.app.close()]);
  });

  it('never use up the message budget, over REST and WebSocket on both instances', async () => {
    const [sender, peer] = await makeUsers(slowA.app, 2, 'lim_resend');
    const room = await createGroup(slowA.app, sender!, { name: 'resends', member_ids: [peer!.id] });
    const send = (server: Server, payload: object) => call(server, sender!, 'POST', `/api/messages/${room.id}`, payload);
    const first = await send(slowA, { content: 'once', client_message_id: 'resent-1' });
    expect(first.statusCode).toBe(201);
    const original = first.json().message;

    // Six times the burst in resends, one after another (a token is given back once the send
    // has found the stored message: resends all at once could still find the bucket empty).
    const resends = [];
    for (let i = 0; i < 20; i += 1) resends.push(await send(i % 2 === 0 ? slowA : slowB, { content: 'once', client_message_id: 'resent-1' }));
    expect(resends.map((res) => res.statusCode)).toEqual(Array(20).fill(200));
    expect(new Set(resends.map((res) => res.json().message.id))).toEqual(new Set([original.id]));
    const ws = await connect(slowB, sender!);
    for (let i = 0; i < 10; i += 1) {
      ws.send({ type: 'message', room_id: room.id, content: 'once', temp_id: 'resent-1' });
      const answer = await ws.next((frame) => frame.type === 'ack' || frame.type === 'error');
      expect(answer).toMatchObject({ type: 'ack', temp_id: 'resent-1', message: { id: original.id } });
    }

    // What is left of the burst still sends new messages, and the budget still holds.
    const fresh = await Promise.all(Array.from({ length: 8 }, (_, i) => send(slowB, { content: `new ${i}`, client_message_id: `new-${i}` })));
    const created = fresh.filter((res) => res.statusCode === 201).length;
    expect(created).toBeGreaterThanOrEqual(4);
    expect(created).toBeLessThan(8);
    expect(fresh.filter((res) => res.statusCode !== 201).map((res) => res.statusCode)).toEqual(Array(8 - created).fill(429));
  });

  it('a send refused before its handler (400) gives back the token its authentication took', async () => {
    const [sender, peer] = await makeUsers(slowA.app, 2, 'lim_bad_send');
    const room = await createGroup(slowA.app, sender!, { name: 'bad sends', member_ids: [peer!.id] });
    const url = `/api/messages/${room.id}`;
    // Twice the burst in bodies that fail the route's schema (its handler never runs).
    for (let i = 0; i < 10; i += 1) expect((await call(slowA, sender!, 'POST', url, i % 2 === 0 ? { content: 5 } : { message_type: 'nope' })).statusCode).toBe(400);
    const tokens = async () => Number(await slowA.app.redis.hget(`abuse:messages:${sender!.id}`, 'tokens'));
    const started = Date.now();
    while ((await tokens()) < 4 && Date.now() - started < 1000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await tokens()).toBeGreaterThanOrEqual(4);
    const sent = await Promise.all(Array.from({ length: 4 }, (_, i) => call(slowA, sender!, 'POST', url, { content: `good ${i}` })));
    expect(sent.map((res) => res.statusCode)).toEqual(Array(4).fill(201));
  });
});

describe('rooms created per user (ROOM_CREATE_PER_HOUR, default 30)', () => {
  it('counts groups and new direct rooms over both instances; an existing direct room still opens', async () => {
    const [creator, peer, newPeer, friend] = await makeUsers(a.app, 4, 'lim_room');
    await makeFriends(a.app, creator!.id, [friend!.id]);
    await openDirect(a.app, creator!, peer!); // 1 of 30
    const results = await Promise.all(
      Array.from({ length: 35 }, (_, i) =>
        call(i % 2 === 0 ? a : b, creator!, 'POST', '/api/group-rooms', { name: `g${i}`, member_ids: [friend!.id] }),
      ),
    );
    const statuses = results.map((res) => res.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(29);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    const refused = results.find((res) => res.statusCode === 429)!;
    expectRateLimited(refused, 3600);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3500);
    expect(await a.app.db.room.count({ where: { createdBy: creator!.id } })).toBe(30);

    expectRateLimited(await call(b, creator!, 'POST', '/api/chat-rooms', { user_id: newPeer!.id }), 3600);
    const existing = await call(b, creator!, 'POST', '/api/chat-rooms', { user_id: peer!.id });
    expect(existing.statusCode).toBe(200);
    // Someone else still creates rooms.
    expect((await call(a, newPeer!, 'POST', '/api/chat-rooms', { user_id: peer!.id })).statusCode).toBe(201);
  });
});

describe('group members are the adder’s friends', () => {
  it('the issue recipe, scaled down: many groups at once, each adding strangers, are all refused 403 and create nothing', async () => {
    const [attacker, ...strangers] = await makeUsers(a.app, 18, 'lim_str');
    const strangerIds = strangers.map((user) => user.id);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(i % 2 === 0 ? a : b, attacker!, 'POST', '/api/group-rooms', { name: `spam ${i}`, member_ids: strangerIds }),
      ),
    );
    expect(results.map((res) => res.statusCode)).toEqual(Array(20).fill(403));
    expect(results[0]!.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('friends') });
    expect(await a.app.db.room.count({ where: { createdBy: attacker!.id } })).toBe(0);
    expect(await a.app.db.roomMember.count({ where: { userId: { in: strangerIds } } })).toBe(0);
    // Refused attempts created no room, so they used none of the hour's allowance.
    expect((await call(a, attacker!, 'POST', '/api/group-rooms', { name: 'alone' })).statusCode).toBe(201);
  });

  it('refuses a stranger among friends, and adding a stranger to an existing group; friends are added', async () => {
    const [owner, friend, stranger] = await makeUsers(a.app, 3, 'lim_fr');
    await makeFriends(a.app, owner!.id, [friend!.id]);
    const mixed = await call(a, owner!, 'POST', '/api/group-rooms', { name: 'mixed', member_ids: [friend!.id, stranger!.id] });
    expect(mixed.statusCode).toBe(403);
    expect(mixed.json().message).toContain(String(stranger!.id));

    const room = (await call(a, owner!, 'POST', '/api/group-rooms', { name: 'ok', member_ids: [friend!.id] })).json().room;
    const addStranger = await call(b, owner!, 'POST', `/api/group-rooms/${room.id}/members`, { user_id: stranger!.id });
    expect(addStranger.statusCode).toBe(403);
    expect(addStranger.json().error).toBe('forbidden');

    // Friendship through the API (request, accept) is what counts.
    expect((await call(a, owner!, 'POST', '/api/friends/request', { user_id: stranger!.id })).statusCode).toBe(201);
    // A pending request is not friendship yet.
    expect((await call(b, owner!, 'POST', `/api/group-rooms/${room.id}/members`, { user_id: stranger!.id })).statusCode).toBe(403);
    const accepted = await a.app.inject({ method: 'PUT', url: `/api/friends/status/${owner!.id}`, headers: stranger!.auth, payload: { action: 'accept' } });
    expect(accepted.statusCode).toBe(200);
    expect((await call(b, owner!, 'POST', `/api/group-rooms/${room.id}/members`, { user_id: stranger!.id })).statusCode).toBe(201);
  });
});

describe('open sockets per user (MAX_SOCKETS_PER_USER, default 20)', () => {
  it('the issue recipe, scaled down: counts over both instances, refuses the extra ones with 429 before the upgrade; a close frees a slot', async () => {
    const [user, other] = await makeUsers(a.app, 2, 'lim_ws');
    const open = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(i % 2 === 0 ? a : b, user!)));
    expect(open).toHaveLength(20);

    const refused = await Promise.all(Array.from({ length: 5 }, (_, i) => refusedUpgrade(i % 2 === 0 ? a.baseUrl : b.baseUrl, user!.token)));
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(JSON.parse(answer.body)).toEqual({ error: 'rate_limited', message: expect.stringContaining('20') });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // The joined-room path is the same socket.
    expect((await refusedUpgrade(b.baseUrl, user!.token, '/ws/chat/1')).status).toBe(429);
    // The open ones still work.
    open[0]!.send({ type: 'ping' });
    expect(await open[0]!.ofType('pong')).toEqual({ type: 'pong' });
    // Another user is not affected.
    await connect(b, other!);

    // Closing one frees its slot on every instance.
    open[1]!.close();
    await open[1]!.closed;
    let reopened: WsClient | undefined;
    await eventuallyAsync(async () => {
      reopened = await WsClient.connect(a.baseUrl, user!.token).catch(() => undefined);
      return reopened !== undefined;
    });
    sockets.push(reopened!);
    expect((await refusedUpgrade(a.baseUrl, user!.token)).status).toBe(429);
  });

  it('the leases of a crashed instance expire, freeing their slots', async () => {
    const [user] = await makeUsers(a.app, 1, 'lim_crash');
    // A "crashed" instance: it took 19 of the user's slots and then stopped renewing them,
    // without ever giving them back. Its leases live half a second.
    const crashed = new ConcurrencyLimiter(a.app.redis, 'sockets', 20, a.app.log, { leaseMs: 500 });
    for (let i = 0; i < 19; i += 1) expect((await crashed.acquire(user!.id)).allowed).toBe(true);
    await crashed.stop({ abandon: true });

    await connect(a, user!);
    expect((await refusedUpgrade(b.baseUrl, user!.token)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = await Promise.all(Array.from({ length: 19 }, (_, i) => connect(i % 2 === 0 ? a : b, user!)));
    expect(after).toHaveLength(19);
    expect((await refusedUpgrade(a.baseUrl, user!.token)).status).toBe(429);
  });

  it('a live instance keeps renewing its leases, so they never lapse while the connections are open', async () => {
    const userId = 2_000_000_000 - randomInt(1_000_000);
    const holder = new ConcurrencyLimiter(a.app.redis, 'lim-renew-test', 2, a.app.log, { leaseMs: 300 });
    const other = new ConcurrencyLimiter(a.app.redis, 'lim-renew-test', 2, a.app.log, { leaseMs: 300 });
    try {
      const first = await holder.acquire(userId);
      expect((await holder.acquire(userId)).allowed).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await other.acquire(userId)).allowed).toBe(false);
      if (first.allowed) first.release();
      await eventuallyAsync(async () => {
        const slot = await other.acquire(userId);
        return slot.allowed;
      });
    } finally {
      await Promise.all([holder.stop(), other.stop()]);
    }
  });
});

describe('open streams per user (MAX_STREAMS_PER_USER, default 10)', () => {
  it('the issue recipe, scaled down: counts over both instances, refuses the extra ones with 429; a close frees a slot', async () => {
    const [user, other] = await makeUsers(a.app, 2, 'lim_sse');
    const open = await Promise.all(Array.from({ length: 10 }, (_, i) => stream(i % 2 === 0 ? a : b, user!)));
    for (const result of open) expect(result).toBeInstanceOf(SseClient);

    const refused = await Promise.all(Array.from({ length: 5 }, (_, i) => stream(i % 2 === 0 ? a : b, user!)));
    for (const answer of refused) {
      expect(answer).not.toBeInstanceOf(SseClient);
      if (answer instanceof SseClient) continue;
      expect(answer.status).toBe(429);
      expect(JSON.parse(answer.body)).toEqual({ error: 'rate_limited', message: expect.stringContaining('10') });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(await stream(a, other!)).toBeInstanceOf(SseClient);

    const first = open[0] as SseClient;
    first.close();
    await eventuallyAsync(async () => (await stream(b, user!)) instanceof SseClient);
    const full = await stream(a, user!);
    expect(full instanceof SseClient ? 200 : full.status).toBe(429);
  });
});

describe('requests of one user at once (API_CONCURRENCY_PER_USER, default 4 per instance)', () => {
  it('UserRequestLanes: runs a few at a time in arrival order, hands a freed lane to the next, drops one that left the line, refuses beyond the line', async () => {
    const lanes = new UserRequestLanes(2, 2);
    const [first, second, third, fourth] = [lanes.enter(7)!, lanes.enter(7)!, lanes.enter(7)!, lanes.enter(7)!];
    expect(lanes.enter(7)).toBeUndefined();
    expect(lanes.enter(8)).toBeDefined();
    expect(await first.ready).toBe(true);
    expect(await second.ready).toBe(true);
    let thirdRan = false;
    void third.ready.then(() => (thirdRan = true));
    fourth.leave();
    expect(await fourth.ready).toBe(false);
    await Promise.resolve();
    expect(thirdRan).toBe(false);
    first.leave();
    first.leave();
    expect(await third.ready).toBe(true);
    expect(lanes.runningOf(7)).toBe(2);
    second.leave();
    third.leave();
    expect(lanes.runningOf(7)).toBe(0);
  });

  let app: App;
  beforeAll(async () => {
    app = await createTestApp({ ...DEFAULT_LIMITS, API_CONCURRENCY_PER_USER: '1' });
  });
  afterAll(async () => app?.close());

  it('lets the others wait their turn (all answered), refuses what the line cannot hold, and never holds up anyone else', async () => {
    const [busy, other] = await makeUsers(app, 2, 'lim_lanes');
    // One lane and 25 places in line: 40 at once are more than that.
    const answers = await Promise.all(Array.from({ length: 40 }, () => app.inject({ url: '/api/chat-rooms', headers: busy!.auth })));
    const statuses = answers.map((res) => res.statusCode);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(26);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 429)).toBe(true);
    const refused = answers.find((res) => res.statusCode === 429);
    if (refused) expectRateLimited(refused, 1);
    // The same number at once as the line holds: every one answered.
    const queued = await Promise.all(Array.from({ length: 20 }, () => app.inject({ url: '/api/chat-rooms', headers: busy!.auth })));
    expect(queued.map((res) => res.statusCode)).toEqual(Array(20).fill(200));
    expect((await app.inject({ url: '/api/chat-rooms', headers: other!.auth })).statusCode).toBe(200);
  });

  it('a request whose client left before it reached the lanes holds no lane (no user locked out)', async () => {
    const server = await startTestServer({ ...DEFAULT_LIMITS, API_CONCURRENCY_PER_USER: '1' });
    try {
      const [user] = await makeUsers(server.app, 1, 'lim_lane_gone');
      const { port } = new URL(server.baseUrl);
      // Each client sends its request and hangs up at once: the connection is gone while the
      // server still authenticates (a Redis round trip), before the request takes its lane.
      for (let round = 0; round < 40; round += 1) {
        await new Promise<void>((resolve) => {
          const socket = connectTcp(Number(port), '127.0.0.1', () => {
            socket.end(`GET /api/chat-rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user!.auth.authorization}\r\n\r\n`);
            socket.destroy();
            resolve();
          });
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const res = await fetch(`${server.baseUrl}/api/chat-rooms`, { headers: user!.auth, signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
    } finally {
      await server.app.close();
    }
  });

  it('a stream leaves its lane once it is open (it is counted by MAX_STREAMS_PER_USER instead)', async () => {
    const server = await startTestServer({ ...DEFAULT_LIMITS, API_CONCURRENCY_PER_USER: '1' });
    try {
      const [user] = await makeUsers(server.app, 1, 'lim_lane_sse');
      const open = await openSse(`${server.baseUrl}/api/online-status/stream?token=${user!.token}`);
      expect(open).toBeInstanceOf(SseClient);
      if (open instanceof SseClient) streams.push(open);
      const res = await fetch(`${server.baseUrl}/api/chat-rooms`, { headers: user!.auth, signal: AbortSignal.timeout(3000) });
      expect(res.status).toBe(200);
    } finally {
      for (const open of streams.splice(0)) open.close();
      await server.app.close();
    }
  });
});

describe('one user flooding', () => {
  it("leaves other users' requests fast (p99 printed) and health probes answering", async () => {
    const [flooder, ...victims] = await makeUsers(a.app, 3, 'lim_p99');
    // The flooder has already spent 500 of the minute's 600 calls (on the other instance): the
    // flood below runs into the limit within its 3 s however slow the machine is, as a flood of
    // hundreds a second does in its first second.
    await pooled(Array.from({ length: 500 }, () => () => call(b, flooder!, 'GET', '/api/auth/me')), 25);
    const floodUntil = Date.now() + 3000;
    let floodCalls = 0;
    let floodLimited = 0;
    // The call that exhausted the database pool in the crash recipe.
    const flood = Array.from({ length: 24 }, async () => {
      while (Date.now() < floodUntil) {
        const res = await fetch(`${a.baseUrl}/api/chat-rooms?limit=100`, { headers: flooder!.auth });
        await res.arrayBuffer();
        floodCalls += 1;
        if (res.status === 429) floodLimited += 1;
      }
    });

    const latencies: number[] = [];
    const statuses: number[] = [];
    const others = victims.map(async (victim) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      while (Date.now() < floodUntil) {
        const started = performance.now();
        const res = await fetch(`${a.baseUrl}/api/chat-rooms`, { headers: victim.auth });
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
        statuses.push(res.status);
      }
    });
    const probes: number[] = [];
    const probing = (async () => {
      while (Date.now() < floodUntil) {
        const started = performance.now();
        const probe = await fetch(`${a.baseUrl}/api/health/live`);
        await probe.arrayBuffer();
        probes.push(performance.now() - started);
        statuses.push(probe.status);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await Promise.all([...flood, ...others, probing]);

    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const probeMax = Math.max(...probes);
    console.log(
      `flood: ${floodCalls} calls of GET /api/chat-rooms?limit=100 by one user in 3 s (${floodLimited} refused 429); ` +
        `2 other users: ${latencies.length} requests, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (issue target < 250 ms); ` +
        `/api/health/live: ${probes.length} probes, max ${probeMax.toFixed(1)} ms (slowest: ${[...probes].sort((x, y) => y - x).slice(0, 5).map((ms) => ms.toFixed(0)).join(", ")} ms)`,
    );
    expect(floodLimited).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(latencies.length).toBeGreaterThan(10);
    // Generous bounds: a shared 2-core machine runs every suite at once.
    expect(p99).toBeLessThan(1000);
    expect(probeMax).toBeLessThan(1000);
  });
});

/** Polls an async predicate (a slot is freed when the server sees the close). */
async function eventuallyAsync(predicate: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
