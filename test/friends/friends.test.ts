import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FriendsService } from '../../src/modules/friends/friends.service.ts';
import { RedisFriendPresence } from '../../src/modules/friends/friend-presence.ts';
import { FriendsStore } from '../../src/modules/friends/friends.store.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import {
  answerRequest,
  befriend,
  blockUser,
  createUsers,
  eventsAbout,
  pairRows,
  recordEvents,
  sendRequest,
  setOffline,
} from '../helpers/social.ts';
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

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const users = <N extends number>(count: N, displayName?: string) => createUsers(app, count, displayName ? { displayName } : {});

function expectError(res: { statusCode: number; json: () => unknown }, status: number, error: string) {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toMatchObject({ error, message: expect.any(String) });
}

describe('POST /api/friends/request', () => {
  it('creates a pending request with 201 and the friendship body', async () => {
    const [alice, bob] = await users(2);
    const res = await sendRequest(app, alice, bob.id);
    expect(res.statusCode).toBe(201);
    const { friendship } = res.json();
    expect(friendship).toEqual({
      id: expect.any(Number),
      requester_id: alice.id,
      addressee_id: bob.id,
      status: 'pending',
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    const rows = await pairRows(app, alice.id, bob.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: friendship.id, status: 'pending', requesterId: alice.id, addresseeId: bob.id });
  });

  it('refuses a request to myself with 400', async () => {
    const [alice] = await users(1);
    expectError(await sendRequest(app, alice, alice.id), 400, 'validation_error');
  });

  it('refuses a duplicate pending request with 409', async () => {
    const [alice, bob] = await users(2);
    expect((await sendRequest(app, alice, bob.id)).statusCode).toBe(201);
    expectError(await sendRequest(app, alice, bob.id), 409, 'conflict');
    expect(await pairRows(app, alice.id, bob.id)).toHaveLength(1);
  });

  it('refuses a request between friends with 409, from either side', async () => {
    const [alice, bob] = await users(2);
    await befriend(app, alice, bob);
    expectError(await sendRequest(app, alice, bob.id), 409, 'conflict');
    expectError(await sendRequest(app, bob, alice.id), 409, 'conflict');
  });

  it('is 404 for an unknown or inactive user', async () => {
    const [alice, inactive] = await users(2);
    await app.db.user.update({ where: { id: inactive.id }, data: { isActive: false } });
    expectError(await sendRequest(app, alice, 2_000_000_000), 404, 'not_found');
    expectError(await sendRequest(app, alice, inactive.id), 404, 'not_found');
    expect(await pairRows(app, alice.id, inactive.id)).toHaveLength(0);
  });

  it('is 404 when either side blocked the other', async () => {
    const [alice, bob, carol] = await users(3);
    expect((await blockUser(app, alice, bob.id)).statusCode).toBe(201);
    expectError(await sendRequest(app, alice, bob.id), 404, 'not_found');
    expectError(await sendRequest(app, bob, alice.id), 404, 'not_found');
    expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
    // A third user is unaffected by the block between the other two.
    expect((await sendRequest(app, carol, alice.id)).statusCode).toBe(201);
    expect((await sendRequest(app, carol, bob.id)).statusCode).toBe(201);
  });

  it('accepts their request when they had already asked me (200, accepted)', async () => {
    const [alice, bob] = await users(2);
    const first = await sendRequest(app, alice, bob.id);
    const res = await sendRequest(app, bob, alice.id);
    expect(res.statusCode).toBe(200);
    expect(res.json().friendship).toMatchObject({
      id: first.json().friendship.id,
      requester_id: alice.id,
      addressee_id: bob.id,
      status: 'accepted',
    });
    const rows = await pairRows(app, alice.id, bob.id);
    expect(rows.map((row) => row.status)).toEqual(['accepted']);
  });

  it('lets a rejected request be asked again, by either side', async () => {
    const [alice, bob] = await users(2);
    await sendRequest(app, alice, bob.id);
    expect((await answerRequest(app, bob, alice.id, 'reject')).json().friendship.status).toBe('rejected');

    const again = await sendRequest(app, alice, bob.id);
    expect(again.statusCode).toBe(201);
    expect(again.json().friendship).toMatchObject({ requester_id: alice.id, addressee_id: bob.id, status: 'pending' });

    expect((await answerRequest(app, bob, alice.id, 'reject')).statusCode).toBe(200);
    const reversed = await sendRequest(app, bob, alice.id);
    expect(reversed.statusCode).toBe(201);
    expect(reversed.json().friendship).toMatchObject({ requester_id: bob.id, addressee_id: alice.id, status: 'pending' });
    expect(await pairRows(app, alice.id, bob.id)).toHaveLength(1);
  });

  it('validates the body and requires a token', async () => {
    const [alice] = await users(1);
    for (const payload of [{}, { user_id: 'abc' }, { user_id: -1 }, { user_id: 1.5 }, { user_id: 2, extra: true }]) {
      const res = await app.inject({ method: 'POST', url: '/api/friends/request', headers: alice.auth, payload });
      expectError(res, 400, 'validation_error');
    }
    expectError(await app.inject({ method: 'POST', url: '/api/friends/request', payload: { user_id: 1 } }), 401, 'invalid_token');
  });
});

describe('concurrent requests', () => {
  it('opposite requests at the same time end as one accepted friendship, never a 5xx', async () => {
    for (let round = 0; round < 6; round += 1) {
      const [alice, bob] = await users(2);
      const [ab, ba] = await Promise.all([sendRequest(app, alice, bob.id), sendRequest(other, bob, alice.id)]);
      expect([ab.statusCode, ba.statusCode].sort()).toEqual([200, 201]);
      const rows = await pairRows(app, alice.id, bob.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe('accepted');
      const accepted = ab.statusCode === 200 ? ab : ba;
      expect(accepted.json().friendship).toMatchObject({ id: rows[0]?.id, status: 'accepted' });
    }
  });

  it('the same request twice at once gives one 201, one 409 and one row', async () => {
    for (let round = 0; round < 6; round += 1) {
      const [alice, bob] = await users(2);
      const results = await Promise.all([sendRequest(app, alice, bob.id), sendRequest(other, alice, bob.id)]);
      expect(results.map((res) => res.statusCode).sort()).toEqual([201, 409]);
      const rows = await pairRows(app, alice.id, bob.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'pending', requesterId: alice.id });
    }
  });

  it('a burst of requests both ways leaves exactly one accepted row', async () => {
    const [alice, bob] = await users(2);
    const results = await Promise.all([
      sendRequest(app, alice, bob.id),
      sendRequest(other, bob, alice.id),
      sendRequest(other, alice, bob.id),
      sendRequest(app, bob, alice.id),
    ]);
    for (const res of results) expect(res.statusCode).toBeLessThan(500);
    const rows = await pairRows(app, alice.id, bob.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe('accepted');
  });
});

describe('PUT /api/friends/status/:requester_user_id', () => {
  it('accepts a pending request and both become friends', async () => {
    const [alice, bob] = await users(2);
    const sent = await sendRequest(app, alice, bob.id);
    const res = await answerRequest(app, bob, alice.id, 'accept');
    expect(res.statusCode).toBe(200);
    expect(res.json().friendship).toMatchObject({ id: sent.json().friendship.id, requester_id: alice.id, addressee_id: bob.id, status: 'accepted' });
    expect((await app.relationships.between(alice.id, bob.id)).areFriends).toBe(true);
  });

  it('rejects a pending request', async () => {
    const [alice, bob] = await users(2);
    await sendRequest(app, alice, bob.id);
    const res = await answerRequest(app, bob, alice.id, 'reject');
    expect(res.statusCode).toBe(200);
    expect(res.json().friendship).toMatchObject({ status: 'rejected' });
    expect((await app.inject({ url: '/api/friends/requests', headers: bob.auth })).json().received).toEqual([]);
    // A rejected request can no longer be answered.
    expectError(await answerRequest(app, bob, alice.id, 'accept'), 404, 'not_found');
  });

  it('is 404 when that user has no pending request to me', async () => {
    const [alice, bob, carol] = await users(3);
    expectError(await answerRequest(app, bob, alice.id, 'accept'), 404, 'not_found');
    await sendRequest(app, alice, bob.id);
    // The requester cannot accept their own request, nor can a third user.
    expectError(await answerRequest(app, alice, bob.id, 'accept'), 404, 'not_found');
    expectError(await answerRequest(app, carol, alice.id, 'accept'), 404, 'not_found');
    expect((await answerRequest(app, bob, alice.id, 'accept')).statusCode).toBe(200);
    // Already accepted: nothing pending any more.
    expectError(await answerRequest(app, bob, alice.id, 'accept'), 404, 'not_found');
    expectError(await answerRequest(app, bob, 2_000_000_000, 'reject'), 404, 'not_found');
  });

  it('validates the id and the action', async () => {
    const [alice, bob] = await users(2);
    expectError(
      await app.inject({ method: 'PUT', url: '/api/friends/status/abc', headers: bob.auth, payload: { action: 'accept' } }),
      400,
      'validation_error',
    );
    expectError(
      await app.inject({ method: 'PUT', url: '/api/friends/status/0', headers: bob.auth, payload: { action: 'accept' } }),
      400,
      'validation_error',
    );
    expectError(
      await app.inject({ method: 'PUT', url: `/api/friends/status/${alice.id}`, headers: bob.auth, payload: { action: 'maybe' } }),
      400,
      'validation_error',
    );
    expectError(await app.inject({ method: 'PUT', url: `/api/friends/status/${alice.id}`, payload: { action: 'accept' } }), 401, 'invalid_token');
  });
});

describe('DELETE /api/friends/request/:target_user_id', () => {
  it('cancels my pending request with 204, then 404', async () => {
    const [alice, bob] = await users(2);
    await sendRequest(app, alice, bob.id);
    const res = await app.inject({ method: 'DELETE', url: `/api/friends/request/${bob.id}`, headers: alice.auth });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
    expectError(await app.inject({ method: 'DELETE', url: `/api/friends/request/${bob.id}`, headers: alice.auth }), 404, 'not_found');
    // Cancelled: a new request is possible.
    expect((await sendRequest(app, alice, bob.id)).statusCode).toBe(201);
  });

  it("is 404 for a request sent to me (not mine to cancel) and for friends", async () => {
    const [alice, bob, carol] = await users(3);
    await sendRequest(app, alice, bob.id);
    expectError(await app.inject({ method: 'DELETE', url: `/api/friends/request/${alice.id}`, headers: bob.auth }), 404, 'not_found');
    await befriend(app, carol, alice);
    expectError(await app.inject({ method: 'DELETE', url: `/api/friends/request/${alice.id}`, headers: carol.auth }), 404, 'not_found');
    expect((await pairRows(app, carol.id, alice.id))[0]?.status).toBe('accepted');
    expectError(await app.inject({ method: 'DELETE', url: '/api/friends/request/x1', headers: alice.auth }), 400, 'validation_error');
  });
});

describe('DELETE /api/friends/:user_id', () => {
  it('unfriends with 204 from either side; 404 when not friends', async () => {
    const [alice, bob, carol] = await users(3);
    await befriend(app, alice, bob);
    const res = await app.inject({ method: 'DELETE', url: `/api/friends/${alice.id}`, headers: bob.auth });
    expect(res.statusCode).toBe(204);
    expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
    expect((await app.inject({ url: '/api/friends/list', headers: alice.auth })).json()).toEqual([]);
    expectError(await app.inject({ method: 'DELETE', url: `/api/friends/${bob.id}`, headers: alice.auth }), 404, 'not_found');
    // A pending request is not a friendship.
    await sendRequest(app, alice, carol.id);
    expectError(await app.inject({ method: 'DELETE', url: `/api/friends/${carol.id}`, headers: alice.auth }), 404, 'not_found');
    expect(await pairRows(app, alice.id, carol.id)).toHaveLength(1);
    expectError(await app.inject({ method: 'DELETE', url: '/api/friends/abc', headers: alice.auth }), 400, 'validation_error');
  });
});

describe('GET /api/friends/list', () => {
  it('lists accepted friends with email, presence and the Korean last-seen label', async () => {
    const [me, online, tenMin, threeHours, twoDays, twoMin, neverSeen, stale, pending, inactive, stranger] = await users(11, '친구 🎉');
    for (const friend of [online, tenMin, threeHours, twoDays, twoMin, neverSeen, stale, inactive]) await befriend(app, me, friend);
    await sendRequest(app, me, pending.id);
    await app.db.user.update({ where: { id: inactive.id }, data: { isActive: false } });

    const now = Date.now();
    await setOffline(app, tenMin.id, 10 * 60_000 + 5_000, now);
    await setOffline(app, threeHours.id, 3 * 3600_000 + 60_000, now);
    await setOffline(app, twoDays.id, 2 * 86_400_000 + 60_000, now);
    await setOffline(app, twoMin.id, 2 * 60_000, now);
    await setOffline(app, neverSeen.id, null, now);
    // MySQL still says online but Redis (the live view) does not: Redis wins.
    await setOffline(app, stale.id, 45 * 60_000, now);
    await app.db.user.update({ where: { id: stale.id }, data: { isOnline: true } });

    const res = await app.inject({ url: '/api/friends/list', headers: me.auth });
    expect(res.statusCode).toBe(200);
    const list: Array<Record<string, unknown>> = res.json();
    const byId = new Map(list.map((item) => [item.user_id, item]));
    expect([...byId.keys()].sort()).toEqual([online, tenMin, threeHours, twoDays, twoMin, neverSeen, stale].map((u) => u.id).sort());
    expect(byId.has(pending.id) || byId.has(inactive.id) || byId.has(stranger.id) || byId.has(me.id)).toBe(false);

    expect(byId.get(online.id)).toEqual({
      user_id: online.id,
      username: online.username,
      display_name: '친구 🎉',
      email: online.email,
      profile_image_url: null,
      is_online: true,
      last_seen_at: null,
      last_seen_display: '방금전',
    });
    expect(byId.get(tenMin.id)).toMatchObject({ is_online: false, last_seen_at: expect.stringMatching(ISO), last_seen_display: '10분 전' });
    expect(byId.get(threeHours.id)).toMatchObject({ is_online: false, last_seen_display: '3시간 전' });
    expect(byId.get(twoDays.id)).toMatchObject({ is_online: false, last_seen_display: '2일 전' });
    expect(byId.get(twoMin.id)).toMatchObject({ is_online: false, last_seen_display: '방금전' });
    expect(byId.get(neverSeen.id)).toMatchObject({ is_online: false, last_seen_at: null, last_seen_display: null });
    expect(byId.get(stale.id)).toMatchObject({ is_online: false, last_seen_display: '45분 전' });
    expect(new Date(String(byId.get(tenMin.id)?.last_seen_at)).getTime()).toBe(now - 10 * 60_000 - 5_000);

    // The friendship is symmetric.
    const theirs = await app.inject({ url: '/api/friends/list', headers: tenMin.auth });
    expect(theirs.json()).toEqual([expect.objectContaining({ user_id: me.id, email: me.email, is_online: true })]);
  });

  it('paginates with limit and offset', async () => {
    const [me, ...friends] = await users(4);
    for (const friend of friends) await befriend(app, me, friend);
    const page = (query: string) => app.inject({ url: `/api/friends/list?${query}`, headers: me.auth });
    const all: Array<{ user_id: number }> = (await page('')).json();
    expect(all).toHaveLength(3);
    const first = (await page('limit=2')).json();
    const second = (await page('limit=2&offset=2')).json();
    expect([...first, ...second]).toEqual(all);
    expectError(await page('limit=101'), 400, 'validation_error');
    expectError(await page('limit=0'), 400, 'validation_error');
  });

  it('falls back to users.is_online when Redis presence fails', async () => {
    const [me, friend] = await users(2);
    await befriend(app, me, friend);
    await setOffline(app, friend.id, 90 * 60_000);
    await app.db.user.update({ where: { id: friend.id }, data: { isOnline: true } });
    const failingPresence = { liveStates: () => Promise.reject(new Error('redis down')) };
    const fixedNow = new Date(Date.now() + 60_000);
    const service = new FriendsService(
      new FriendsStore(app.db, app.mysqlPool),
      app.users,
      app.relationships,
      failingPresence,
      app.events,
      app.log,
      () => fixedNow,
    );
    const [item] = await service.list(me.id, { limit: 50, offset: 0 });
    expect(item).toMatchObject({ user_id: friend.id, is_online: true, last_seen_display: '방금전' });
    // With the presence working, Redis says offline; the injected clock sets "now".
    const live = new FriendsService(new FriendsStore(app.db, app.mysqlPool), app.users, app.relationships, new RedisFriendPresence(app.redis), app.events, app.log, () => fixedNow);
    expect((await live.list(me.id, { limit: 50, offset: 0 }))[0]).toMatchObject({ is_online: false, last_seen_display: '1시간 전' });
  });
});

describe('GET /api/friends/requests', () => {
  it('lists received and sent pending requests, newest first', async () => {
    const [me, asker1, asker2, asked, friend] = await users(5, '요청');
    await sendRequest(app, asker1, me.id);
    await sendRequest(app, asker2, me.id);
    await sendRequest(app, me, asked.id);
    await befriend(app, me, friend);
    const res = await app.inject({ url: '/api/friends/requests', headers: me.auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.received.map((item: { user_id: number }) => item.user_id)).toEqual([asker2.id, asker1.id]);
    expect(body.received[0]).toEqual({
      user_id: asker2.id,
      username: asker2.username,
      display_name: '요청',
      profile_image_url: null,
      created_at: expect.stringMatching(ISO),
    });
    expect(body.sent).toEqual([expect.objectContaining({ user_id: asked.id, username: asked.username })]);
    const theirs = (await app.inject({ url: '/api/friends/requests', headers: asked.auth })).json();
    expect(theirs).toEqual({ received: [expect.objectContaining({ user_id: me.id })], sent: [] });
  });
});

describe('GET /api/friends/search', () => {
  it('matches username or display name and leaves out me, friends, inactive and blocked users', async () => {
    const tag = `q${randomBytes(3).toString('hex')}`;
    const byName = (prefix: string) => createUser(app, { prefix: `${tag}${prefix}` });
    const [me, plain, requested, friend, inactive, blockedByMe, blockedMe] = await Promise.all([
      byName('me'),
      byName('plain'),
      byName('req'),
      byName('friend'),
      byName('inact'),
      byName('bbm'),
      byName('bme'),
    ]);
    const byDisplay = await createUser(app, { displayName: `김 ${tag} 님` });
    await sendRequest(app, me, requested.id);
    await befriend(app, me, friend);
    await app.db.user.update({ where: { id: inactive.id }, data: { isActive: false } });
    await blockUser(app, me, blockedByMe.id);
    await blockUser(app, blockedMe, me.id);

    const res = await app.inject({ url: `/api/friends/search?q=${tag.toUpperCase()}`, headers: me.auth });
    expect(res.statusCode).toBe(200);
    const results: Array<{ user_id: number }> = res.json();
    expect(results.map((item) => item.user_id).sort()).toEqual([plain.id, requested.id, byDisplay.id].sort());
    expect(results.find((item) => item.user_id === byDisplay.id)).toEqual({
      user_id: byDisplay.id,
      username: byDisplay.username,
      display_name: `김 ${tag} 님`,
      profile_image_url: null,
    });

    // Blocked either way: neither side finds the other.
    const blockedView: Array<{ user_id: number }> = (await app.inject({ url: `/api/friends/search?q=${tag}`, headers: blockedMe.auth })).json();
    expect(blockedView.map((item) => item.user_id)).not.toContain(me.id);
    expect(blockedView.map((item) => item.user_id)).toContain(plain.id);

    const korean = await app.inject({ url: `/api/friends/search?q=${encodeURIComponent(`김 ${tag}`)}`, headers: me.auth });
    expect(korean.json().map((item: { user_id: number }) => item.user_id)).toEqual([byDisplay.id]);
  });

  it('paginates with limit (max 100) and offset', async () => {
    const tag = `p${randomBytes(3).toString('hex')}`;
    const found = await Promise.all(Array.from({ length: 5 }, () => createUser(app, { prefix: tag })));
    const [me] = await users(1);
    const search = (query: string) => app.inject({ url: `/api/friends/search?q=${tag}&${query}`, headers: me.auth });
    const all: Array<{ user_id: number }> = (await search('')).json();
    expect(all.map((item) => item.user_id).sort()).toEqual(found.map((user) => user.id).sort());
    const first = (await search('limit=2')).json();
    const rest = (await search('limit=100&offset=2')).json();
    expect(first).toHaveLength(2);
    expect([...first, ...rest]).toEqual(all);
    expectError(await search('limit=101'), 400, 'validation_error');
    expectError(await search('offset=-1'), 400, 'validation_error');
  });

  it('needs q of at least 3 characters and treats % and _ literally', async () => {
    const [me] = await users(1);
    for (const query of ['', '?q=', '?q=ab', '?q=%20%20ab%20']) {
      expectError(await app.inject({ url: `/api/friends/search${query}`, headers: me.auth }), 400, 'validation_error');
    }
    const wildcard = await app.inject({ url: `/api/friends/search?q=${encodeURIComponent('%%%')}`, headers: me.auth });
    expect(wildcard.statusCode).toBe(200);
    expect(wildcard.json()).toEqual([]);
    expect((await app.inject({ url: '/api/friends/search?q=abc' })).statusCode).toBe(401);
  });
});

describe('domain events', () => {
  it('publishes friendship_changed on accept, auto-accept and unfriend', async () => {
    const recorder = await recordEvents(app);
    try {
      const [alice, bob, carol] = await users(3);
      await befriend(other, alice, bob);
      await sendRequest(app, alice, carol.id);
      expect((await sendRequest(app, carol, alice.id)).statusCode).toBe(200);
      await answerRequest(app, alice, bob.id, 'reject'); // nothing pending: no event
      await app.inject({ method: 'DELETE', url: `/api/friends/${bob.id}`, headers: alice.auth });
      await vi.waitFor(() => expect(eventsAbout(recorder.events, [alice.id])).toHaveLength(3));
      expect(eventsAbout(recorder.events, [alice.id])).toEqual([
        { type: 'friendship_changed', user_ids: [alice.id, bob.id], status: 'accepted' },
        { type: 'friendship_changed', user_ids: [alice.id, carol.id], status: 'accepted' },
        { type: 'friendship_changed', user_ids: [alice.id, bob.id], status: 'ended' },
      ]);
    } finally {
      recorder.stop();
    }
  });
});

describe('OpenAPI', () => {
  it('documents every friends and blocks route with its tag and security', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json();
    const expected: Array<[string, string, string]> = [
      ['/api/friends/request', 'post', 'friends'],
      ['/api/friends/status/{requester_user_id}', 'put', 'friends'],
      ['/api/friends/list', 'get', 'friends'],
      ['/api/friends/requests', 'get', 'friends'],
      ['/api/friends/request/{target_user_id}', 'delete', 'friends'],
      ['/api/friends/{user_id}', 'delete', 'friends'],
      ['/api/friends/search', 'get', 'friends'],
      ['/api/blocks/', 'post', 'blocks'],
      ['/api/blocks/{user_id}', 'delete', 'blocks'],
      ['/api/blocks/', 'get', 'blocks'],
    ];
    for (const [path, method, tag] of expected) {
      const operation = doc.paths[path]?.[method] ?? doc.paths[path.replace(/\/$/, '')]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.tags).toEqual([tag]);
      expect(operation.security).toBeDefined();
      expect(operation.summary).toEqual(expect.any(String));
    }
  });
});
