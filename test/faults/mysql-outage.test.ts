import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { type TcpProxy, waitUntil, within } from '../helpers/faults.ts';
import { proxiedDatabase } from '../helpers/instance-pair.ts';
import { createGroup } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * MySQL unreachable: the app's DATABASE_URL goes through a TCP proxy that the test cuts.
 * Requests needing MySQL must answer 503 `service_unavailable` with the contract body within a
 * couple of seconds (never 500, never a hang), the process keeps serving, and once the proxy
 * forwards again the same requests succeed without restarting anything.
 */

/** A 503 must come well before a client gives up: the pool's acquire timeout is 2 s. */
/** About 2 s by design (the pool's acquire timeout), with headroom for a loaded CI machine. */
const QUICK_503_MS = 5000;

let proxy: TcpProxy;
let app: App;
let baseUrl: string;
let alice: TestUser;
let bob: TestUser;
let roomId: number;

beforeAll(async () => {
  const db = await proxiedDatabase();
  proxy = db.proxy;
  ({ app, baseUrl } = await startTestServer({ DATABASE_URL: db.databaseUrl }));
  [alice, bob] = await Promise.all([createUser(app, { prefix: 'dbcut' }), createUser(app, { prefix: 'dbcut' })]);
  roomId = (await createGroup(app, alice, { name: 'db outage', member_ids: [bob.id] })).id;
});

afterAll(async () => {
  await app?.close();
  await proxy?.close();
});

interface Answer {
  status: number;
  body: unknown;
  ms: number;
}

async function call(method: string, path: string, user?: TestUser, body?: unknown): Promise<Answer> {
  const started = Date.now();
  const res = await within(
    QUICK_503_MS + 2000,
    `${method} ${path}`,
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(user ? { authorization: `Bearer ${user.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null, ms: Date.now() - started };
}

/** Requests that each need MySQL (reads and writes, with and without a token). */
function mysqlRequests(): Promise<Answer>[] {
  const tag = Date.now().toString(36);
  return [
    call('GET', '/api/chat-rooms', alice),
    call('GET', '/api/friends/list', alice),
    call('GET', `/api/messages/${roomId}?limit=50`, alice),
    call('POST', `/api/messages/${roomId}`, alice, { content: `during outage ${tag}`, client_message_id: `cut-${tag}` }),
    call('POST', '/api/auth/login/json', undefined, { email: bob.email, password: bob.password }),
    call('POST', '/api/group-rooms', bob, { name: `room ${tag}` }),
  ];
}

function expectQuick503(answers: Answer[]): void {
  for (const answer of answers) {
    expect(answer.status, JSON.stringify(answer)).toBe(503);
    expect(answer.body).toEqual({ error: 'service_unavailable', message: expect.any(String) });
    expect(answer.ms, JSON.stringify(answer)).toBeLessThan(QUICK_503_MS);
  }
}

async function expectHealthNamesMysql(): Promise<void> {
  const health = await call('GET', '/api/health');
  expect(health.status).toBe(503);
  expect(health.body).toMatchObject({
    status: 'error',
    error: 'service_unavailable',
    message: expect.stringContaining('mysql'),
    checks: { mysql: { status: 'error' }, redis: { status: 'ok' } },
  });
  expect(health.ms).toBeLessThan(QUICK_503_MS);
  const live = await call('GET', '/api/health/live');
  expect(live.status).toBe(200);
}

async function expectRecovered(): Promise<void> {
  // The pool reconnects by itself: the very same requests succeed again, no restart.
  await waitUntil(async () => expect((await call('GET', '/api/health')).status).toBe(200), 10_000, 200);
  const rooms = await call('GET', '/api/chat-rooms', alice);
  expect(rooms.status).toBe(200);
  const tag = `back-${Date.now().toString(36)}`;
  const sent = await call('POST', `/api/messages/${roomId}`, alice, { content: 'back again', client_message_id: tag });
  expect(sent.status).toBe(201);
  const login = await call('POST', '/api/auth/login/json', undefined, { email: bob.email, password: bob.password });
  expect(login.status).toBe(200);
  const history = await call('GET', `/api/messages/${roomId}?limit=50`, alice);
  expect(history.status).toBe(200);
  const messages = (history.body as { messages: { client_message_id: string | null }[] }).messages;
  expect(messages.filter((message) => message.client_message_id === tag)).toHaveLength(1);
}

describe('MySQL unreachable', () => {
  it('connections reset and new ones refused: quick 503 with the contract body, then recovery', async () => {
    // Warm: the pool holds live connections that the cut will break mid-use.
    expect((await call('GET', '/api/chat-rooms', alice)).status).toBe(200);
    proxy.cut('refuse');

    expectQuick503(await Promise.all(mysqlRequests()));
    // A second wave, once the pool knows the server is gone, is just as quick.
    const [second] = await Promise.all([Promise.all(mysqlRequests()), expectHealthNamesMysql()]);
    expectQuick503(second);

    proxy.resume();
    await expectRecovered();
  });

  it('a host that stops answering (packets dropped): still a quick 503, then recovery', async () => {
    expect((await call('GET', '/api/chat-rooms', alice)).status).toBe(200);
    proxy.cut('blackhole');

    const [answers] = await Promise.all([Promise.all(mysqlRequests()), expectHealthNamesMysql()]);
    expectQuick503(answers);

    proxy.resume();
    await expectRecovered();
  });
});
