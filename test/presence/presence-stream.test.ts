import { createSigner } from 'fast-jwt';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExpiryOutcome } from '../../src/modules/presence/presence.monitor.ts';
import { onlineKey } from '../../src/modules/presence/presence.keys.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { connectSse, openSse, SseClient } from '../helpers/sse.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { befriend, block, ChangeRecorder, dbPresence, eventually, login, logout, sleep, testRedis, unfriend } from './support.ts';

/** Two instances on real ports sharing MariaDB and Redis, with a 2 s presence TTL. */
const TTL_S = 2;
let a: App;
let b: App;
let urlA: string;
let urlB: string;
let redis: Redis;
let recorder: ChangeRecorder;
const outcomes: { instance: 'a' | 'b'; outcome: ExpiryOutcome }[] = [];
const open: SseClient[] = [];

beforeAll(async () => {
  ({ app: a, baseUrl: urlA } = await startTestServer({ PRESENCE_TTL_S: String(TTL_S) }));
  ({ app: b, baseUrl: urlB } = await startTestServer({ PRESENCE_TTL_S: String(TTL_S) }));
  a.presenceMonitor.onExpiry((outcome) => outcomes.push({ instance: 'a', outcome }));
  b.presenceMonitor.onExpiry((outcome) => outcomes.push({ instance: 'b', outcome }));
  redis = testRedis();
  recorder = await ChangeRecorder.start();
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});
afterAll(async () => {
  await recorder.stop();
  redis.disconnect();
  await Promise.all([a.close(), b.close()]);
});

async function stream(baseUrl: string, user: TestUser, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await connectSse(`${baseUrl}/api/online-status/stream`, { headers: { ...user.auth, ...headers } });
  open.push(client);
  return client;
}

/** Status events about one user, from index `from`. */
const statusesOf = (client: SseClient, userId: number, from = 0) =>
  client.dataOf<{ user_id: number; is_online: boolean }>('status', from).filter((s) => s.user_id === userId);

/** A user who exists but is offline now (created, then logged out). */
async function offlineUser(app: App): Promise<TestUser> {
  const user = await createUser(app);
  await logout(app, user.token);
  return user;
}

describe('GET /api/online-status/stream: opening', () => {
  it('sends connected, then one status per friend with the current state, with SSE and CORS headers', async () => {
    const me = await createUser(a);
    const online = await createUser(b);
    const offline = await offlineUser(b);
    const stranger = await createUser(b);
    await befriend(a, me.id, online.id);
    await befriend(a, offline.id, me.id);

    const client = await stream(urlA, me, { origin: 'http://localhost:3000' });
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache');
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.headers.connection).toBe('keep-alive');
    expect(client.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(client.headers['access-control-allow-credentials']).toBe('true');
    expect(client.headers['content-length']).toBeUndefined();

    const [connected, ...statuses] = await client.waitForCount(3);
    const friendIds = [online.id, offline.id].sort((x, y) => x - y);
    expect(connected?.event).toBe('connected');
    expect(JSON.parse(connected?.data ?? '')).toEqual({ message: 'Monitoring 2 friends', friend_ids: friendIds });
    expect(statuses.map((e) => e.event)).toEqual(['status', 'status']);
    expect(statuses.map((e) => JSON.parse(e.data))).toEqual(
      expect.arrayContaining([
        { user_id: online.id, is_online: true },
        { user_id: offline.id, is_online: false },
      ]),
    );
    await sleep(100);
    expect(statusesOf(client, stranger.id)).toEqual([]);
  });

  it('works with no friends, and with the token in the query string or the jwt_token cookie', async () => {
    const me = await createUser(a);
    const byQuery = await connectSse(`${urlA}/api/online-status/stream?token=${encodeURIComponent(me.token)}`);
    open.push(byQuery);
    const first = await byQuery.waitForCount(1);
    expect(JSON.parse(first[0]?.data ?? '')).toEqual({ message: 'Monitoring 0 friends', friend_ids: [] });
    const byCookie = await connectSse(`${urlB}/api/online-status/stream`, { headers: { cookie: `jwt_token=${me.token}` } });
    open.push(byCookie);
    expect((await byCookie.waitForCount(1))[0]?.event).toBe('connected');
  });

  it('refuses a missing, forged, expired or revoked token with 401 JSON before any stream starts', async () => {
    const me = await createUser(a);
    const forged = createSigner({ key: 'some-other-secret-0123456789' })({ sub: String(me.id), jti: 'x' });
    const expired = createSigner({ key: 'test-secret-0123456789abcdef-0123456789' })({
      sub: String(me.id),
      jti: 'y',
      iat: Math.floor(Date.now() / 1000) - 7200,
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    const revoked = await login(a, me);
    await logout(b, revoked);
    for (const [name, url, headers] of [
      ['missing', `${urlA}/api/online-status/stream`, {}],
      ['garbage', `${urlA}/api/online-status/stream?token=garbage`, {}],
      ['forged', `${urlA}/api/online-status/stream`, { authorization: `Bearer ${forged}` }],
      ['expired', `${urlA}/api/online-status/stream`, { authorization: `Bearer ${expired}` }],
      ['revoked', `${urlA}/api/online-status/stream?token=${revoked}`, {}],
    ] as const) {
      const result = await openSse(url, { headers });
      expect(result, name).not.toBeInstanceOf(SseClient);
      if (result instanceof SseClient) continue;
      expect(result.status, name).toBe(401);
      expect(result.headers['content-type'], name).toMatch(/^application\/json/);
      expect(JSON.parse(result.body), name).toEqual({ error: 'invalid_token', message: expect.any(String) });
    }
  });
});

describe('live changes across instances', () => {
  it("sees a friend's login, heartbeat-expiry and logout made on the other instance within one second, once each", async () => {
    const viewer = await createUser(a);
    const friend = await offlineUser(b);
    const stranger = await offlineUser(b);
    await befriend(a, viewer.id, friend.id);
    const onA = await stream(urlA, viewer);
    const onB = await stream(urlB, viewer);
    await onA.waitForStatus(friend.id, false);
    await onB.waitForStatus(friend.id, false);
    const mark = { a: onA.mark(), b: onB.mark() };

    // 1. Login on B.
    const loginStarted = Date.now();
    const token = await login(b, friend);
    const online = await onA.waitForStatus(friend.id, true, { from: mark.a, timeoutMs: 2000 });
    expect(online.receivedAt - loginStarted).toBeLessThan(1000);
    await onB.waitForStatus(friend.id, true, { from: mark.b, timeoutMs: 2000 });
    expect(await dbPresence(a, friend.id)).toMatchObject({ isOnline: true });

    // 2. No heartbeat: the key expires, exactly one instance handles it.
    const expiredAt = await recorder.expiryOf(friend.id, loginStarted, (TTL_S + 5) * 1000);
    const offline = await onA.waitForStatus(friend.id, false, { from: mark.a, timeoutMs: 2000 });
    expect(offline.receivedAt - expiredAt).toBeLessThan(1000);
    expect(offline.receivedAt - (online.receivedAt + TTL_S * 1000)).toBeLessThan(1000);
    await onB.waitForStatus(friend.id, false, { from: mark.b, timeoutMs: 2000 });
    await sleep(1000); // room for any duplicate to show up
    expect(statusesOf(onA, friend.id, mark.a)).toEqual([
      { user_id: friend.id, is_online: true },
      { user_id: friend.id, is_online: false },
    ]);
    expect(statusesOf(onB, friend.id, mark.b)).toEqual(statusesOf(onA, friend.id, mark.a));
    expect(a.presenceHub.watcherCount(friend.id)).toBe(1);
    expect(b.presenceHub.watcherCount(friend.id)).toBe(1);
    expect(recorder.of(friend.id, false).filter((c) => c.receivedAt >= loginStarted)).toHaveLength(1);
    const heard = outcomes.filter((o) => o.outcome.userId === friend.id);
    expect(heard.filter((o) => o.outcome.claimed).length).toBeLessThanOrEqual(1);
    expect(new Set(heard.map((o) => o.instance))).toEqual(new Set(['a', 'b'])); // both heard it
    const afterExpiry = await dbPresence(a, friend.id);
    expect(afterExpiry.isOnline).toBe(false);
    expect(afterExpiry.lastSeenAt?.getTime()).toBeGreaterThanOrEqual(expiredAt - 1500);
    expect(afterExpiry.lastSeenAt?.getTime()).toBeLessThanOrEqual(offline.receivedAt + 50);

    // 3. Login again, then logout on B.
    const beforeSecond = onA.mark();
    const second = await login(b, friend);
    await onA.waitForStatus(friend.id, true, { from: beforeSecond, timeoutMs: 2000 });
    const beforeLogout = onA.mark();
    const logoutStarted = Date.now();
    await logout(b, second);
    const loggedOut = await onA.waitForStatus(friend.id, false, { from: beforeLogout, timeoutMs: 2000 });
    expect(loggedOut.receivedAt - logoutStarted).toBeLessThan(1000);
    const afterLogout = await dbPresence(a, friend.id);
    expect(afterLogout.isOnline).toBe(false);
    expect(afterLogout.lastSeenAt?.getTime()).toBeGreaterThanOrEqual(logoutStarted - 5);
    expect(afterLogout.lastSeenAt?.getTime()).toBeLessThanOrEqual(loggedOut.receivedAt);
    void token;

    // A stranger's changes never reach the viewer.
    const strangerToken = await login(b, stranger);
    await logout(a, strangerToken);
    await eventually(() => expect(recorder.of(stranger.id, false).length).toBeGreaterThanOrEqual(2));
    await sleep(200);
    expect(statusesOf(onA, stranger.id)).toEqual([]);
    expect(statusesOf(onB, stranger.id)).toEqual([]);
  }, 30_000);

  it('heartbeats on either instance keep a friend online past the TTL; stopping them lets it expire once', async () => {
    const viewer = await createUser(a);
    const friend = await offlineUser(b);
    await befriend(a, viewer.id, friend.id);
    const client = await stream(urlA, viewer);
    await client.waitForStatus(friend.id, false);
    const from = client.mark();
    const token = await login(b, friend);
    await client.waitForStatus(friend.id, true, { from });
    const started = Date.now();
    let turn = 0;
    while (Date.now() - started < TTL_S * 1000 * 2) {
      const app = turn++ % 2 === 0 ? a : b;
      const res = await app.inject({ method: 'POST', url: '/api/online-status/heartbeat', headers: { authorization: `Bearer ${token}` } });
      expect(res.json()).toEqual({ user_id: friend.id, is_online: true, ttl_seconds: TTL_S });
      await sleep(600);
    }
    expect(statusesOf(client, friend.id, from)).toEqual([{ user_id: friend.id, is_online: true }]);
    expect((await dbPresence(a, friend.id)).isOnline).toBe(true);
    await client.waitForStatus(friend.id, false, { from, timeoutMs: (TTL_S + 3) * 1000 });
    await sleep(500);
    expect(statusesOf(client, friend.id, from)).toEqual([
      { user_id: friend.id, is_online: true },
      { user_id: friend.id, is_online: false },
    ]);
    expect((await dbPresence(a, friend.id)).isOnline).toBe(false);

    // A heartbeat after the expiry brings them back, announced once.
    const back = client.mark();
    await b.inject({ method: 'POST', url: '/api/online-status/heartbeat', headers: { authorization: `Bearer ${token}` } });
    await client.waitForStatus(friend.id, true, { from: back, timeoutMs: 1000 });
    expect((await dbPresence(a, friend.id)).isOnline).toBe(true);
    await logout(b, token);
  }, 30_000);

  it('follows friendships accepted and ended while connected, and blocks', async () => {
    const viewer = await createUser(a);
    const newFriend = await createUser(b);
    const client = await stream(urlA, viewer);
    await client.waitForCount(1);

    let from = client.mark();
    await befriend(b, viewer.id, newFriend.id, { publish: true });
    await client.waitForStatus(newFriend.id, true, { from, timeoutMs: 1000 });

    from = client.mark();
    await logout(b, newFriend.token);
    await client.waitForStatus(newFriend.id, false, { from, timeoutMs: 1000 });

    await unfriend(b, viewer.id, newFriend.id, { publish: true });
    await eventually(() => expect(a.presenceHub.watcherCount(newFriend.id)).toBe(0), 2000);
    from = client.mark();
    const token = await login(b, newFriend);
    await eventually(() => expect(recorder.of(newFriend.id, true).length).toBeGreaterThanOrEqual(2));
    await sleep(300);
    expect(statusesOf(client, newFriend.id, from)).toEqual([]);

    // Friends again, then a block (block_changed alone is enough to stop watching).
    await befriend(b, viewer.id, newFriend.id, { publish: true });
    await client.waitForStatus(newFriend.id, true, { from, timeoutMs: 1000 });
    expect(a.presenceHub.watcherCount(newFriend.id)).toBe(1);
    await block(b, newFriend.id, viewer.id);
    await eventually(() => expect(a.presenceHub.watcherCount(newFriend.id)).toBe(0), 2000);
    from = client.mark();
    await logout(b, token);
    await eventually(() => expect(recorder.of(newFriend.id, false).length).toBeGreaterThanOrEqual(2));
    await sleep(300);
    expect(statusesOf(client, newFriend.id, from)).toEqual([]);
  }, 20_000);

  it('a stream opened after a block never shows the blocked user', async () => {
    const viewer = await createUser(a);
    const blocked = await createUser(b);
    await befriend(a, viewer.id, blocked.id);
    await a.db.blockUser.create({ data: { blockerId: viewer.id, blockedId: blocked.id } });
    const client = await stream(urlA, viewer);
    const [connected] = await client.waitForCount(1);
    expect(JSON.parse(connected?.data ?? '')).toEqual({ message: 'Monitoring 0 friends', friend_ids: [] });
    await logout(b, blocked.token);
    await sleep(300);
    expect(statusesOf(client, blocked.id)).toEqual([]);
  });
});

describe('stream lifecycle', () => {
  it('sends keep-alive comments at the configured interval', async () => {
    const me = await createUser(a);
    const previous = a.presenceHub.keepAliveMs;
    a.presenceHub.keepAliveMs = 150;
    try {
      const client = await stream(urlA, me);
      const comment = await client.waitForComment((c) => c.text === 'keep-alive', { timeoutMs: 2000 });
      expect(comment.receivedAt).toBeGreaterThan(0);
      await sleep(400);
      expect(client.comments.filter((c) => c.text === 'keep-alive').length).toBeGreaterThanOrEqual(2);
    } finally {
      a.presenceHub.keepAliveMs = previous;
    }
  });

  it('frees registry entries and timers when the client disconnects', async () => {
    await eventually(() => expect(a.presenceHub.stats().streams).toBe(0), 2000);
    const baseline = a.presenceHub.stats();
    const me = await createUser(a);
    const friends = await Promise.all([createUser(b), createUser(b), createUser(b)]);
    for (const friend of friends) await befriend(a, me.id, friend.id);
    const clients = [await stream(urlA, me), await stream(urlA, me)];
    await Promise.all(clients.map((c) => c.waitForCount(4)));
    expect(a.presenceHub.stats()).toMatchObject({
      streams: baseline.streams + 2,
      watchedUsers: baseline.watchedUsers + 3,
      watchEntries: baseline.watchEntries + 6,
      viewers: baseline.viewers + 1,
      streamsWithTimers: baseline.streamsWithTimers + 2,
    });
    for (const client of clients) client.close();
    await eventually(() =>
      expect(a.presenceHub.stats()).toMatchObject({
        streams: baseline.streams,
        watchedUsers: baseline.watchedUsers,
        watchEntries: baseline.watchEntries,
        viewers: baseline.viewers,
        streamsWithTimers: baseline.streamsWithTimers,
      }),
    );
  });

  it('ends my stream with an error event when I log out with its token', async () => {
    const me = await createUser(a);
    const client = await stream(urlA, me);
    await client.waitForCount(1);
    await logout(b, me.token);
    const error = await client.waitFor((e) => e.event === 'error', { timeoutMs: 2000 });
    expect(JSON.parse(error.data)).toEqual({ message: expect.stringMatching(/revoked/i) });
    await client.closed;
  });

  it('closes open streams when the app shuts down', async () => {
    const { app: temp, baseUrl } = await startTestServer({ PRESENCE_TTL_S: String(TTL_S) });
    const me = await createUser(temp);
    const client = await connectSse(`${baseUrl}/api/online-status/stream`, { headers: me.auth });
    await client.waitForCount(1);
    const started = Date.now();
    await temp.close();
    await client.closed;
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('Redis reconnects', () => {
  async function killClient(name: string): Promise<void> {
    const list = String(await redis.client('LIST'));
    const line = list.split('\n').find((l) => l.includes(` name=${name} `));
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    if (!id) throw new Error(`no Redis client named ${name}`);
    await redis.client('KILL', 'ID', id);
  }

  it('the monitor resubscribes and re-enables keyspace notifications (merging flags) after its connection drops', async () => {
    const original = ((await redis.config('GET', 'notify-keyspace-events')) as string[])[1] ?? '';
    const setupsBefore = a.presenceMonitor.stats().setups;
    try {
      await redis.config('SET', 'notify-keyspace-events', 'Kg');
      await killClient(a.presenceMonitor.connectionName);
      await eventually(() => expect(a.presenceMonitor.stats().setups).toBeGreaterThan(setupsBefore), 5000);
      const flags = ((await redis.config('GET', 'notify-keyspace-events')) as string[])[1] ?? '';
      for (const flag of ['K', 'g', 'E', 'x']) expect(flags).toContain(flag);
    } finally {
      await b.presenceMonitor.ensureNotifications();
      void original;
    }
    // And expiries are still handled after the reconnect.
    const viewer = await createUser(a);
    const friend = await offlineUser(b);
    await befriend(a, viewer.id, friend.id);
    const client = await stream(urlA, viewer);
    await client.waitForStatus(friend.id, false);
    const from = client.mark();
    const loggedInAt = Date.now();
    await login(b, friend);
    const expiredAt = await recorder.expiryOf(friend.id, loggedInAt, (TTL_S + 5) * 1000);
    const offline = await client.waitForStatus(friend.id, false, { from, timeoutMs: 2000 });
    expect(offline.receivedAt - expiredAt).toBeLessThan(1000);
  }, 20_000);

  it('the hub reports the interruption, resubscribes and resends current states', async () => {
    const viewer = await createUser(a);
    const friend = await offlineUser(b);
    await befriend(a, viewer.id, friend.id);
    const client = await stream(urlA, viewer);
    await client.waitForStatus(friend.id, false);
    const from = client.mark();
    await killClient(a.presenceHub.connectionName);
    const error = await client.waitFor((e) => e.event === 'error', { from, timeoutMs: 3000 });
    expect(JSON.parse(error.data).message).toMatch(/interrupted/i);
    await client.waitForStatus(friend.id, false, { from, timeoutMs: 5000 }); // resync
    await eventually(() => expect(a.presenceHub.isSubscribed).toBe(true), 5000);
    const after = client.mark();
    const token = await login(b, friend);
    await client.waitForStatus(friend.id, true, { from: after, timeoutMs: 1000 });
    await logout(b, token);
  }, 20_000);

  it('reports an expiry on time even when Redis is slow to reclaim expired keys', async () => {
    // Thousands of long-lived TTL keys (like the 7-day last-seen stamps) make Redis's active
    // expiry lazy: without the reaper the expired event can come many seconds late.
    const fillers = redis.pipeline();
    for (let i = 0; i < 3000; i += 1) fillers.set(`presence-test-filler:${i}`, '1', 'EX', 3600);
    await fillers.exec();
    try {
      const viewer = await createUser(a);
      const friends = [await offlineUser(b), await offlineUser(b), await offlineUser(b)];
      for (const friend of friends) await befriend(a, viewer.id, friend.id);
      const client = await stream(urlA, viewer);
      await client.waitForCount(4);
      const from = client.mark();
      const loggedIn: number[] = [];
      for (const friend of friends) {
        await login(b, friend);
        loggedIn.push(Date.now());
      }
      for (const [i, friend] of friends.entries()) {
        const offline = await client.waitForStatus(friend.id, false, { from, timeoutMs: (TTL_S + 3) * 1000 });
        expect(offline.receivedAt - ((loggedIn[i] ?? 0) + TTL_S * 1000)).toBeLessThan(1000);
        expect((await dbPresence(a, friend.id)).isOnline).toBe(false);
      }
      await sleep(500);
      for (const friend of friends) expect(statusesOf(client, friend.id, from).filter((s) => !s.is_online)).toHaveLength(1);
    } finally {
      const cleanup = redis.pipeline();
      for (let i = 0; i < 3000; i += 1) cleanup.del(`presence-test-filler:${i}`);
      await cleanup.exec();
    }
  }, 20_000);

  it('an expiry nobody heard of is picked up by the sweep', async () => {
    const user = await createUser(b);
    // Simulate a missed event: drop the key without an expiry notification.
    await redis.del(onlineKey(user.id));
    await a.presenceMonitor.sweep();
    await eventually(() => expect(recorder.of(user.id, false)).toHaveLength(1));
    expect((await dbPresence(a, user.id)).isOnline).toBe(false);
  });
});
