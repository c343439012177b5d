import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { RedisServerProcess, sleep, waitUntil, within } from '../helpers/faults.ts';
import { createGroup } from '../helpers/rooms.ts';
import { befriend } from '../helpers/social.ts';
import { connectSse, type SseClient } from '../helpers/sse.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';

/**
 * Redis restarted mid-traffic. Two instances share a private redis-server, which is SIGKILLed
 * while messages flow over WebSocket and restarted empty on the same port (default config:
 * keyspace notifications off). Nothing is done by hand afterwards: health, fan-out across
 * instances, presence (SSE and heartbeat expiry) and room presence must come back by
 * themselves, and every message acknowledged before the restart is in history exactly once.
 */

/**
 * A request while Redis is down gets its 503 within this: about 2 s by design (a command waits
 * for one reconnection attempt, at most 1 s apart), with headroom for a loaded 2-core CI machine
 * running every suite at once.
 */
const QUICK_503_MS = 5000;
/** Redis has been down for a while: the same bound once reconnection attempts have backed off. */
const LATE_503_MS = 5000;
/** After Redis is back, everything works again within this. */
const RECOVERY_MS = 8000;

interface Server {
  app: App;
  baseUrl: string;
}

let redis: RedisServerProcess;
let a: Server;
let b: Server;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let roomId: number;
let aliceWs: WsClient;
let bobWs: WsClient;
let daveSse: SseClient;

beforeAll(async () => {
  redis = await RedisServerProcess.start();
  // Short presence TTL: heartbeat expiry is observable within the test.
  const overrides = { REDIS_URL: redis.url(0), PRESENCE_TTL_S: '2' };
  a = await startTestServer(overrides);
  b = await startTestServer(overrides);
  [alice, bob, carol, dave] = await Promise.all(
    ['redis_a', 'redis_b', 'redis_c', 'redis_d'].map((prefix) => createUser(a.app, { prefix })),
  ) as [TestUser, TestUser, TestUser, TestUser];
  roomId = (await createGroup(a.app, alice, { name: 'redis restart', member_ids: [bob.id] })).id;
  await befriend(a.app, carol, dave);
  aliceWs = await WsClient.connect(a.baseUrl, alice.token, `/ws/chat/${roomId}`);
  bobWs = await WsClient.connect(b.baseUrl, bob.token, `/ws/chat/${roomId}`);
  await Promise.all([aliceWs.ofType('joined'), bobWs.ofType('joined')]);
  daveSse = await connectSse(`${a.baseUrl}/api/online-status/stream?token=${dave.token}`);
  await daveSse.waitFor((event) => event.event === 'connected');
});

afterAll(async () => {
  aliceWs?.close();
  bobWs?.close();
  daveSse?.close();
  await Promise.all([a?.app.close(), b?.app.close()]);
  await redis?.stop();
});

/** Alice's WebSocket traffic: one message every `intervalMs`, each outcome recorded by temp_id. */
class Traffic {
  readonly outcomes = new Map<string, { sentAt: number; answeredAt?: number; messageId?: string; failed?: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(private readonly client: WsClient) {
    client.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const tempId = typeof frame.temp_id === 'string' ? frame.temp_id : undefined;
      const outcome = tempId ? this.outcomes.get(tempId) : undefined;
      if (!outcome) return;
      if (frame.type === 'ack') {
        outcome.messageId = (frame.message as { id: string }).id;
        outcome.failed = false;
      } else if (frame.type === 'error') {
        outcome.failed = outcome.messageId === undefined;
      }
      outcome.answeredAt ??= Date.now();
    });
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.send(`fault-${Date.now().toString(36)}-${(this.seq += 1)}`), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  send(tempId: string): void {
    if (!this.outcomes.has(tempId)) this.outcomes.set(tempId, { sentAt: Date.now() });
    this.client.send({ type: 'message', room_id: roomId, content: `traffic ${tempId}`, temp_id: tempId });
  }

  acked(): Map<string, string> {
    const acked = new Map<string, string>();
    for (const [tempId, outcome] of this.outcomes) if (outcome.messageId) acked.set(tempId, outcome.messageId);
    return acked;
  }

  unanswered(olderThanMs: number): string[] {
    const now = Date.now();
    return [...this.outcomes].filter(([, o]) => o.answeredAt === undefined && now - o.sentAt > olderThanMs).map(([id]) => id);
  }
}

async function get(server: Server, path: string, user?: TestUser, method = 'GET', body?: unknown) {
  const started = Date.now();
  const res = await within(
    QUICK_503_MS + 3000,
    `${method} ${path}`,
    fetch(`${server.baseUrl}${path}`, {
      method,
      headers: {
        ...(user ? { authorization: `Bearer ${user.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ms: Date.now() - started };
}

interface StoredMessage {
  id: string;
  client_message_id: string | null;
}

/** The room's whole history, page by page. */
async function fullHistory(server: Server, user: TestUser): Promise<StoredMessage[]> {
  const messages: StoredMessage[] = [];
  let cursor: string | null = null;
  do {
    const page = await get(server, `/api/messages/${roomId}?limit=100${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`, user);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    messages.push(...(page.body.messages as StoredMessage[]));
    cursor = page.body.has_more ? (page.body.next_cursor as string) : null;
  } while (cursor);
  return messages;
}

describe('Redis restarted mid-traffic', () => {
  it('stays up, reports it, answers 503 quickly, then resumes fan-out, presence and room state by itself', async () => {
    const traffic = new Traffic(aliceWs);
    const bobSaw = new Set<string>();
    let bobLastEventId: string | undefined;
    bobWs.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'message') bobSaw.add((frame.message as { id: string }).id);
      if (typeof frame.event_id === 'string') bobLastEventId = frame.event_id;
    });

    // Traffic flows and fans out from A to B.
    traffic.start(150);
    await waitUntil(() => expect(traffic.acked().size).toBeGreaterThanOrEqual(5), 5000);
    await waitUntil(() => expect([...traffic.acked().values()].every((id) => bobSaw.has(id))).toBe(true), 3000);

    // Kill Redis mid-traffic.
    const eventIdBeforeKill = bobLastEventId;
    expect(eventIdBeforeKill).toEqual(expect.any(String));
    await redis.kill();
    const killedAt = Date.now();
    const ackedBeforeKill = new Map(traffic.acked());

    // Health says so on both instances, quickly; the processes keep serving.
    const during = await Promise.all([
      get(a, '/api/health'),
      get(b, '/api/health'),
      get(a, '/api/online-status/friends', dave),
      get(b, '/api/online-status/heartbeat', carol, 'POST'),
      get(b, `/api/messages/${roomId}`, bob),
      get(a, '/api/auth/login/json', undefined, 'POST', { email: carol.email, password: carol.password }),
    ]);
    for (const health of during.slice(0, 2)) {
      expect(health.status, JSON.stringify(health)).toBe(503);
      expect(health.body).toMatchObject({
        status: 'error',
        error: 'service_unavailable',
        message: expect.stringContaining('redis'),
        checks: { redis: { status: 'error' }, mysql: { status: 'ok' } },
      });
      expect(health.ms).toBeLessThan(QUICK_503_MS);
    }
    for (const answer of during.slice(2)) {
      expect(answer.status, JSON.stringify(answer)).toBe(503);
      expect(answer.body).toEqual({ error: 'service_unavailable', message: expect.any(String) });
      expect(answer.ms, JSON.stringify(answer)).toBeLessThan(QUICK_503_MS);
    }
    expect((await get(a, '/api/health/live')).status).toBe(200);
    expect((await get(b, '/api/health/live')).status).toBe(200);

    // A longer outage: reconnection attempts have backed off to their longest pause, and a
    // request still gets its 503 within about 2 s (requests spread over time, so one of them
    // lands just after a failed attempt, the worst case).
    await sleep(Math.max(0, killedAt + 4000 - Date.now()));
    const late = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        await sleep(i * 250);
        return get(i % 2 ? a : b, '/api/online-status/friends', dave);
      }),
    );
    for (const answer of late) {
      expect(answer.status, JSON.stringify(answer)).toBe(503);
      expect(answer.ms, JSON.stringify(answer)).toBeLessThan(LATE_503_MS);
    }
    traffic.stop();
    await sleep(200);
    await waitUntil(() => expect(traffic.unanswered(0)).toEqual([]), QUICK_503_MS);
    const slowest = Math.max(...[...traffic.outcomes.values()].map((o) => (o.answeredAt ?? Infinity) - o.sentAt));
    expect(slowest, 'every WebSocket send got its ack or SEND_FAILED quickly').toBeLessThan(QUICK_503_MS);
    const failedDuringOutage = [...traffic.outcomes].filter(([, o]) => o.failed).map(([id]) => id);
    // Sends during the outage are stored in MySQL and acknowledged (the Redis write-through and
    // the publish are best-effort once a message is stored); any that did fail are resent below.

    // Redis comes back on the same port, empty and with default settings.
    await redis.start();
    const restartedAt = Date.now();
    expect(restartedAt - killedAt).toBeLessThan(15_000);
    const sseMark = daveSse.mark();

    // Health recovers on both instances with no manual step.
    await waitUntil(async () => {
      expect((await get(a, '/api/health')).status).toBe(200);
      expect((await get(b, '/api/health')).status).toBe(200);
    }, RECOVERY_MS, 100);

    // The heartbeat monitor re-enabled expired-key notifications on the new server.
    const admin = new Redis(redis.url(0), { maxRetriesPerRequest: 1 });
    try {
      await waitUntil(async () => {
        const [, flags] = (await admin.config('GET', 'notify-keyspace-events')) as [string, string];
        expect(flags).toMatch(/E/);
        expect(flags).toMatch(/x|A/);
      }, RECOVERY_MS, 100);
    } finally {
      admin.disconnect();
    }

    // Fan-out across instances works again, both ways: A → B and B → A.
    await waitUntil(async () => {
      const fromA = `back-a-${Date.now()}`;
      traffic.send(fromA);
      const id = await waitUntil(() => {
        const messageId = traffic.outcomes.get(fromA)?.messageId;
        if (!messageId) throw new Error('no ack yet');
        return messageId;
      }, 3000);
      await waitUntil(() => expect(bobSaw.has(id)).toBe(true), 1000);
    }, RECOVERY_MS, 0);
    const fromB = `back-b-${Date.now()}`;
    bobWs.send({ type: 'message', room_id: roomId, content: 'bob is back', temp_id: fromB });
    const bobAck = await bobWs.next((frame) => frame.type === 'ack' && frame.temp_id === fromB, 3000);
    const bobMessageId = (bobAck.message as { id: string }).id;
    await aliceWs.next((frame) => frame.type === 'message' && (frame.message as { id: string }).id === bobMessageId, 3000);

    // The room's event history went with Redis: a client resuming from before the restart is
    // told to reset (and refetch), never left silently without the events it missed.
    const resumed = await WsClient.connect(b.baseUrl, bob.token);
    try {
      resumed.send({ type: 'join', room_id: roomId, since: eventIdBeforeKill });
      const joined = await resumed.next((frame) => frame.type === 'joined', 3000);
      expect(joined).toMatchObject({ recovered: false });
      expect(resumed.frames.filter((frame) => frame.type === 'reset')).toEqual([{ type: 'reset', room_id: roomId }]);
    } finally {
      resumed.close();
    }

    // Presence works again: a friend's login reaches the SSE stream on the other instance...
    const login = await get(b, '/api/auth/login/json', undefined, 'POST', { email: carol.email, password: carol.password });
    expect(login.status).toBe(200);
    await daveSse.waitForStatus(carol.id, true, { from: sseMark, timeoutMs: 3000 });
    // ...and so does heartbeat expiry (TTL 2 s, no heartbeat): offline, once.
    const onlineAt = daveSse.mark();
    await daveSse.waitForStatus(carol.id, false, { from: onlineAt, timeoutMs: 6000 });
    await sleep(300);
    const offline = daveSse
      .dataOf<{ user_id: number; is_online: boolean }>('status', onlineAt)
      .filter((status) => status.user_id === carol.id && !status.is_online);
    expect(offline).toHaveLength(1);
    expect(daveSse.isClosed).toBe(false);

    // Room presence (lost with Redis' data) is rebuilt by the instances' upkeep.
    await waitUntil(async () => {
      const status = await get(b, `/api/ws/rooms/${roomId}/status`, bob);
      expect(status.body).toMatchObject({ state: 'active', online_user_ids: [alice.id, bob.id].sort((x, y) => x - y) });
    }, RECOVERY_MS, 100);

    // The client resends what failed during the outage, by temp_id.
    // (Paced under the per-connection frame rate limit.)
    for (const tempId of failedDuringOutage) {
      traffic.send(tempId);
      await sleep(55);
    }
    await waitUntil(() => expect(failedDuringOutage.filter((id) => !traffic.outcomes.get(id)?.messageId)).toEqual([]), 3000);

    // Nothing acked is lost, nothing is duplicated; the WebSockets never dropped.
    const messages = await fullHistory(b, bob);
    const idCounts = new Map<string, number>();
    for (const message of messages) idCounts.set(message.id, (idCounts.get(message.id) ?? 0) + 1);
    for (const [tempId, messageId] of ackedBeforeKill) {
      expect(idCounts.get(messageId), `acked ${tempId} before the restart`).toBe(1);
    }
    const acked = traffic.acked();
    for (const [tempId, messageId] of acked) expect(idCounts.get(messageId), tempId).toBe(1);
    const perTempId = new Map<string, number>();
    for (const message of messages) {
      if (message.client_message_id) perTempId.set(message.client_message_id, (perTempId.get(message.client_message_id) ?? 0) + 1);
    }
    expect([...perTempId.values()].every((count) => count === 1)).toBe(true);
    // Every temp_id that reached the server is stored once: acked ones under their acked id.
    for (const [tempId, messageId] of acked) {
      expect(messages.find((message) => message.client_message_id === tempId)?.id).toBe(messageId);
    }
    expect(aliceWs.socket.readyState).toBe(aliceWs.socket.OPEN);
    expect(bobWs.socket.readyState).toBe(bobWs.socket.OPEN);
  });
});
