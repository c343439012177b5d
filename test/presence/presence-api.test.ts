import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastSeenKey, ONLINE_USERS_SET, onlineKey } from '../../src/modules/presence/presence.keys.ts';
import { mergeKeyspaceFlags } from '../../src/modules/presence/presence.monitor.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { befriend, block, ChangeRecorder, dbPresence, eventually, login, logout, sleep, testRedis } from './support.ts';

let app: App;
let redis: Redis;
let recorder: ChangeRecorder;

beforeAll(async () => {
  app = await createTestApp();
  redis = testRedis();
  recorder = await ChangeRecorder.start();
});
afterAll(async () => {
  await recorder.stop();
  redis.disconnect();
  await app.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('presence state on login, heartbeat and logout', () => {
  it('login sets user:online with the TTL, joins online_users, sets MySQL is_online and publishes once', async () => {
    const user = await createUser(app);
    const ttl = await redis.ttl(onlineKey(user.id));
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
    expect(await redis.sismember(ONLINE_USERS_SET, String(user.id))).toBe(1);
    expect((await dbPresence(app, user.id)).isOnline).toBe(true);
    await eventually(() => expect(recorder.of(user.id, true)).toHaveLength(1));
    expect(recorder.of(user.id)[0]).toMatchObject({ user_id: user.id, is_online: true, last_seen_at: null, at: expect.any(Number) });
  });

  it('POST /heartbeat refreshes the TTL and answers {user_id, is_online, ttl_seconds} without publishing', async () => {
    const user = await createUser(app);
    await eventually(() => expect(recorder.of(user.id, true)).toHaveLength(1));
    await redis.expire(onlineKey(user.id), 20);
    const res = await app.inject({ method: 'POST', url: '/api/online-status/heartbeat', headers: user.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user_id: user.id, is_online: true, ttl_seconds: 300 });
    expect(await redis.ttl(onlineKey(user.id))).toBeGreaterThan(290);
    await sleep(150);
    expect(recorder.of(user.id)).toHaveLength(1);
  });

  it('a heartbeat after the expiry was handled brings the user back online, announced once', async () => {
    const user = await createUser(app);
    await redis.del(onlineKey(user.id));
    expect(await app.presence.expire(user.id)).toBe(true);
    expect((await dbPresence(app, user.id)).isOnline).toBe(false);
    const res = await app.inject({ method: 'POST', url: '/api/online-status/heartbeat', headers: user.auth });
    expect(res.statusCode).toBe(200);
    expect(await redis.exists(onlineKey(user.id))).toBe(1);
    expect(await redis.sismember(ONLINE_USERS_SET, String(user.id))).toBe(1);
    expect((await dbPresence(app, user.id)).isOnline).toBe(true);
    await eventually(() => expect(recorder.of(user.id).map((c) => c.is_online)).toEqual([true, false, true]));
  });

  it('a key that expired but was not yet claimed is simply refreshed: no offline blip', async () => {
    const user = await createUser(app);
    await redis.del(onlineKey(user.id));
    await app.inject({ method: 'POST', url: '/api/online-status/heartbeat', headers: user.auth });
    expect(await app.presence.expire(user.id)).toBe(false);
    await sleep(100);
    expect(recorder.of(user.id).map((c) => c.is_online)).toEqual([true]);
  });

  it('an expiry is claimed exactly once however many instances try, and never while the user is back', async () => {
    const user = await createUser(app);
    expect(await app.presence.expire(user.id)).toBe(false); // still online: nothing to claim
    await redis.del(onlineKey(user.id));
    const results = await Promise.all(Array.from({ length: 8 }, () => app.presence.expire(user.id)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await redis.sismember(ONLINE_USERS_SET, String(user.id))).toBe(0);
    expect(await redis.get(lastSeenKey(user.id))).toMatch(/^\d{4}-\d\d-\d\dT/);
    await eventually(() => expect(recorder.of(user.id, false)).toHaveLength(1));
  });

  it('refreshMany keeps many users online in one call and announces only comebacks', async () => {
    const [stays, cameBack] = [await createUser(app), await createUser(app)];
    await redis.expire(onlineKey(stays.id), 20);
    await redis.del(onlineKey(cameBack.id));
    await app.presence.expire(cameBack.id);
    await app.presence.refreshMany([stays.id, cameBack.id, stays.id]);
    for (const user of [stays, cameBack]) {
      expect(await redis.ttl(onlineKey(user.id))).toBeGreaterThan(290);
      expect(await redis.sismember(ONLINE_USERS_SET, String(user.id))).toBe(1);
      expect((await dbPresence(app, user.id)).isOnline).toBe(true);
    }
    await eventually(() => expect(recorder.of(cameBack.id).map((c) => c.is_online)).toEqual([true, false, true]));
    expect(recorder.of(stays.id).map((c) => c.is_online)).toEqual([true]);
    await app.presence.refreshMany([]);
  });

  it('logout removes the key, stamps user:last_seen (7 days) and MySQL last_seen_at, and publishes once', async () => {
    const user = await createUser(app);
    const before = Date.now();
    await logout(app, user.token);
    expect(await redis.exists(onlineKey(user.id))).toBe(0);
    expect(await redis.sismember(ONLINE_USERS_SET, String(user.id))).toBe(0);
    const lastSeen = await redis.get(lastSeenKey(user.id));
    expect(Date.parse(lastSeen ?? '')).toBeGreaterThanOrEqual(before - 5);
    expect(await redis.ttl(lastSeenKey(user.id))).toBeGreaterThan(7 * 24 * 3600 - 10);
    const stored = await dbPresence(app, user.id);
    expect(stored.isOnline).toBe(false);
    expect(stored.lastSeenAt?.toISOString()).toBe(lastSeen);
    await eventually(() => expect(recorder.of(user.id, false)).toHaveLength(1));
    expect(recorder.of(user.id, false)[0]?.last_seen_at).toBe(lastSeen);
  });

  it('a logout after the expiry was already announced does not announce it again', async () => {
    const user = await createUser(app);
    await redis.del(onlineKey(user.id));
    await app.presence.expire(user.id);
    await logout(app, user.token);
    await sleep(150);
    expect(recorder.of(user.id, false)).toHaveLength(1);
    expect((await dbPresence(app, user.id)).isOnline).toBe(false);
  });
});

describe('GET /api/online-status/user/:user_id', () => {
  let me: TestUser;
  let friend: TestUser;
  let stranger: TestUser;
  beforeAll(async () => {
    [me, friend, stranger] = await Promise.all([createUser(app), createUser(app), createUser(app)]);
    await befriend(app, me.id, friend.id);
  });

  it('shows my own status', async () => {
    const res = await app.inject({ url: `/api/online-status/user/${me.id}`, headers: me.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user_id: me.id, status: 'online', is_online: true, last_activity: expect.any(String) });
    expect(Date.now() - Date.parse(res.json().last_activity)).toBeLessThan(60_000);
  });

  it("shows a friend's status, online then offline with the last-seen time", async () => {
    const online = await app.inject({ url: `/api/online-status/user/${friend.id}`, headers: me.auth });
    expect(online.json()).toMatchObject({ user_id: friend.id, status: 'online', is_online: true });
    const token = await login(app, friend);
    await logout(app, token);
    const offline = await app.inject({ url: `/api/online-status/user/${friend.id}`, headers: me.auth });
    expect(offline.statusCode).toBe(200);
    const lastSeenAt = (await dbPresence(app, friend.id)).lastSeenAt?.toISOString();
    expect(offline.json()).toEqual({ user_id: friend.id, status: 'offline', is_online: false, last_activity: lastSeenAt });
  });

  it('falls back to MySQL last_seen_at once Redis forgot it', async () => {
    await redis.del(lastSeenKey(friend.id));
    const res = await app.inject({ url: `/api/online-status/user/${friend.id}`, headers: me.auth });
    expect(res.json().last_activity).toBe((await dbPresence(app, friend.id)).lastSeenAt?.toISOString());
  });

  it('refuses non-friends, pending requests and blocked friends with 403', async () => {
    const stranger403 = await app.inject({ url: `/api/online-status/user/${stranger.id}`, headers: me.auth });
    expect(stranger403.statusCode).toBe(403);
    expect(stranger403.json()).toMatchObject({ error: 'forbidden', message: expect.any(String) });

    const pending = await createUser(app);
    await app.db.friendship.create({
      data: { requesterId: me.id, addresseeId: pending.id, userLowId: Math.min(me.id, pending.id), userHighId: Math.max(me.id, pending.id) },
    });
    expect((await app.inject({ url: `/api/online-status/user/${pending.id}`, headers: me.auth })).statusCode).toBe(403);

    const blockedFriend = await createUser(app);
    await befriend(app, me.id, blockedFriend.id);
    await app.db.blockUser.create({ data: { blockerId: blockedFriend.id, blockedId: me.id } });
    expect((await app.inject({ url: `/api/online-status/user/${blockedFriend.id}`, headers: me.auth })).statusCode).toBe(403);
    expect((await app.inject({ url: `/api/online-status/user/${me.id}`, headers: blockedFriend.auth })).statusCode).toBe(403);
  });

  it('answers 404 for an unknown user and 400 for a malformed id', async () => {
    const unknown = await app.inject({ url: '/api/online-status/user/2147483000', headers: me.auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('not_found');
    for (const bad of ['abc', '0', '-3', '1.5', '99999999999']) {
      const res = await app.inject({ url: `/api/online-status/user/${bad}`, headers: me.auth });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
  });

  it('requires a valid token', async () => {
    expect((await app.inject({ url: `/api/online-status/user/${me.id}` })).statusCode).toBe(401);
    const res = await app.inject({ url: `/api/online-status/user/${me.id}`, headers: bearer('not.a.jwt') });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('invalid_token');
  });
});

describe('GET /api/online-status/friends', () => {
  it('lists accepted friends only, with their online flag, never blocked users', async () => {
    const [me, online, offline, pending, stranger, blocked] = await Promise.all([
      createUser(app),
      createUser(app),
      createUser(app),
      createUser(app),
      createUser(app),
      createUser(app),
    ]);
    await befriend(app, me.id, online.id);
    await befriend(app, offline.id, me.id);
    await befriend(app, me.id, blocked.id);
    await block(app, me.id, blocked.id);
    await app.db.friendship.create({
      data: { requesterId: pending.id, addresseeId: me.id, userLowId: Math.min(me.id, pending.id), userHighId: Math.max(me.id, pending.id) },
    });
    await logout(app, offline.token);
    void stranger;
    const res = await app.inject({ url: '/api/online-status/friends', headers: me.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(
      [
        { user_id: online.id, is_online: true },
        { user_id: offline.id, is_online: false },
      ].sort((a, b) => a.user_id - b.user_id),
    );
  });

  it('is an empty list without friends and 401 without a token', async () => {
    const loner = await createUser(app);
    const res = await app.inject({ url: '/api/online-status/friends', headers: loner.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
    expect((await app.inject({ url: '/api/online-status/friends' })).statusCode).toBe(401);
  });
});

describe('presence routes in the OpenAPI document', () => {
  it('documents every presence route under the presence tag with bearer security', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json();
    for (const [path, method] of [
      ['/api/online-status/heartbeat', 'post'],
      ['/api/online-status/user/{user_id}', 'get'],
      ['/api/online-status/friends', 'get'],
      ['/api/online-status/stream', 'get'],
    ] as const) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.tags).toEqual(['presence']);
      expect(operation.summary).toEqual(expect.any(String));
      expect(operation.security).toEqual(expect.arrayContaining([{ BearerAuth: [] }]));
      expect(operation.responses['401']).toBeDefined();
    }
    expect(Object.keys(doc.paths['/api/online-status/stream'].get.responses['200'].content)).toContain('text/event-stream');
  });
});

describe('keyspace notification flags', () => {
  it.each([
    ['', 'Ex'],
    ['Ex', 'Ex'],
    ['xE', 'xE'],
    ['Kg', 'KgEx'],
    ['KEA', 'KEA'],
    ['AK', 'AKE'],
    ['Egx$', 'Egx$'],
    ['Kx', 'KxE'],
  ])('merges %j into %j', (current, merged) => {
    expect(mergeKeyspaceFlags(current)).toBe(merged);
  });
});
