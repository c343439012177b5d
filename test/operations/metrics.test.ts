import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { ServerProcess, waitUntil } from '../helpers/faults.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import { openSse, SseClient } from '../helpers/sse.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * Prometheus metrics (the contract's Operations section), on two real instances A and B
 * sharing MariaDB and Redis, each with its `/metrics` listener on a port of its own.
 */

const CONTRACT_METRICS = [
  'http_request_duration_seconds',
  'chat_websocket_connections',
  'chat_sse_streams',
  'chat_online_users',
  'chat_messages_sent_total',
  'chat_events_published_total',
  'chat_event_delivery_lag_seconds',
  'chat_rate_limited_total',
];

let a: TestServer;
let b: TestServer;
let owner: TestUser;
let member: TestUser;
let roomId: number;
const sockets: WsClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ MAX_STREAMS_PER_USER: '1' }), startTestServer()]);
  [owner, member] = (await makeUsers(a.app, 2, 'metrics')) as [TestUser, TestUser];
  roomId = (await createGroup(a.app, owner, { member_ids: [member.id] })).id;
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([a?.app.close(), b?.app.close()]);
});

async function scrape(server: TestServer): Promise<string> {
  const response = await fetch(`${server.metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) total += Number(match[3]);
  }
  return total;
}

async function value(server: TestServer, name: string, labels?: Record<string, string>): Promise<number> {
  return sample(await scrape(server), name, labels);
}

async function socketOn(server: TestServer, user: TestUser, path?: string): Promise<WsClient> {
  const socket = await WsClient.connect(server.baseUrl, user.token, path);
  sockets.push(socket);
  return socket;
}

const historyRoute = { method: 'GET', route: '/api/messages/:room_id', status_code: '200' };

describe('the /metrics listener', () => {
  it('serves every contract metric and the Node.js process metrics as Prometheus text', async () => {
    const response = await fetch(`${a.metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of CONTRACT_METRICS) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('# TYPE chat_event_delivery_lag_seconds histogram');
    // Every limit's series exists before its first refusal.
    expect(text).toContain('chat_rate_limited_total{limit="api"} 0');
  });

  it('is not on the public port: GET /metrics there is the JSON 404', async () => {
    const response = await fetch(`${a.baseUrl}/metrics`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', message: 'Route GET /metrics not found' });
  });

  it('answers anything but GET /metrics with the JSON 404', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/metrics/x'], ['POST', '/metrics']] as const) {
      const response = await fetch(`${a.metricsUrl}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_found', message: expect.any(String) });
    }
  });

  it('keeps each instance in its own registry', async () => {
    const before = await value(b, 'http_request_duration_seconds_count', historyRoute);
    for (let i = 0; i < 3; i += 1) await fetch(`${a.baseUrl}/api/messages/${roomId}`, { headers: owner.auth });
    expect(await value(b, 'http_request_duration_seconds_count', historyRoute)).toBe(before);
  });
});

describe('values follow the traffic', () => {
  it('times requests by route pattern, and unmatched ones under one fixed label', async () => {
    const before = await scrape(a);
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(`${a.baseUrl}/api/messages/${roomId}`, { headers: owner.auth });
      expect(response.status).toBe(200);
    }
    const hostile = `/scan-${Date.now()}/../etc/passwd`;
    await fetch(`${a.baseUrl}${hostile}`);
    await fetch(`${a.baseUrl}/api/nothing-here-${Date.now()}`);

    const after = await scrape(a);
    expect(sample(after, 'http_request_duration_seconds_count', historyRoute)).toBe(sample(before, 'http_request_duration_seconds_count', historyRoute) + 5);
    const notFound = { route: 'not_found', status_code: '404' };
    expect(sample(after, 'http_request_duration_seconds_count', notFound)).toBe(sample(before, 'http_request_duration_seconds_count', notFound) + 2);
    expect(after).not.toContain('scan-');
    expect(after).not.toContain('nothing-here');
    expect(after).not.toContain(`/api/messages/${roomId}"`);
  });

  it('counts open WebSockets: 1 while one is open, 0 once it closes', async () => {
    expect(await value(a, 'chat_websocket_connections')).toBe(0);
    const socket = await socketOn(a, owner);
    await waitUntil(async () => expect(await value(a, 'chat_websocket_connections')).toBe(1), 2000);
    socket.close();
    await socket.closed;
    await waitUntil(async () => expect(await value(a, 'chat_websocket_connections')).toBe(0), 2000);
  });

  it('counts open SSE streams, and a stream over the per-user limit as rate limited (stream)', async () => {
    const streamUrl = `${a.baseUrl}/api/online-status/stream`;
    const [streamsBefore, limitedBefore] = await Promise.all([value(a, 'chat_sse_streams'), value(a, 'chat_rate_limited_total', { limit: 'stream' })]);
    const stream = await openSse(streamUrl, { headers: owner.auth });
    if (!(stream instanceof SseClient)) throw new Error(`stream refused: ${stream.status} ${stream.body}`);
    await stream.waitFor((event) => event.event === 'connected');
    expect(await value(a, 'chat_sse_streams')).toBe(streamsBefore + 1);

    const refused = await openSse(streamUrl, { headers: owner.auth });
    expect(refused).toMatchObject({ status: 429 });
    expect(await value(a, 'chat_rate_limited_total', { limit: 'stream' })).toBe(limitedBefore + 1);

    stream.close();
    await waitUntil(async () => expect(await value(a, 'chat_sse_streams')).toBe(streamsBefore), 2000);
  });

  it('counts users online by presence', async () => {
    // Logging in marks a user online.
    expect(await value(a, 'chat_online_users')).toBeGreaterThanOrEqual(2);
    expect(await value(b, 'chat_online_users')).toBeGreaterThanOrEqual(2);
  });

  it('counts a message sent on A there, and times its delivery to a socket on B there', async () => {
    const receiver = await socketOn(b, member, `/ws/chat/${roomId}`);
    await receiver.ofType('joined');
    const [beforeA, beforeB] = await Promise.all([scrape(a), scrape(b)]);

    const response = await fetch(`${a.baseUrl}/api/messages/${roomId}`, {
      method: 'POST',
      headers: { ...owner.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'measured' }),
    });
    expect(response.status).toBe(201);
    await receiver.next((frame) => frame.type === 'message' && (frame.message as { content: string }).content === 'measured');

    const [afterA, afterB] = await Promise.all([scrape(a), scrape(b)]);
    expect(sample(afterA, 'chat_messages_sent_total')).toBe(sample(beforeA, 'chat_messages_sent_total') + 1);
    expect(sample(afterA, 'chat_events_published_total')).toBeGreaterThan(sample(beforeA, 'chat_events_published_total'));
    // B delivered it but did not send it.
    expect(sample(afterB, 'chat_messages_sent_total')).toBe(sample(beforeB, 'chat_messages_sent_total'));
    expect(sample(afterB, 'chat_event_delivery_lag_seconds_count')).toBeGreaterThan(sample(beforeB, 'chat_event_delivery_lag_seconds_count'));
    expect(sample(afterB, 'chat_event_delivery_lag_seconds_sum')).toBeLessThan(sample(beforeB, 'chat_event_delivery_lag_seconds_sum') + 5);
    receiver.close();
  });

  it('counts refusals by the API limit (api) and the per-connection frame limit (ws_frame)', async () => {
    const limited = await startTestServer({ API_RATE_PER_USER: '2' });
    try {
      const [user] = await makeUsers(limited.app, 1, 'metrics');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await fetch(`${limited.baseUrl}/api/auth/me`, { headers: user!.auth })).status);
      expect(statuses).toContain(429);
      expect(await value(limited, 'chat_rate_limited_total', { limit: 'api' })).toBe(statuses.filter((status) => status === 429).length);
    } finally {
      await limited.app.close();
    }

    const flooder = await socketOn(a, member);
    for (let i = 0; i < 80; i += 1) flooder.send({ type: 'ping' });
    await flooder.next((frame) => frame.type === 'error' && frame.code === 'RATE_LIMITED');
    expect(await value(a, 'chat_rate_limited_total', { limit: 'ws_frame' })).toBeGreaterThanOrEqual(1);
    flooder.close();
  });
});

describe('the real entry point (src/server.ts)', () => {
  it('serves /metrics on METRICS_PORT, never on PORT, and stops both on SIGTERM', async () => {
    const server = await ServerProcess.start({
      NODE_ENV: 'test',
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
    });
    try {
      expect(server.metricsPort).toBeGreaterThan(0);
      expect(server.metricsPort).not.toBe(server.port);
      const metrics = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('# TYPE chat_websocket_connections gauge');
      expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(404);

      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      server.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).rejects.toThrow();
    } finally {
      await server.kill();
    }
  });
});
