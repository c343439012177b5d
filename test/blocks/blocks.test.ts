import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pairOf } from '../../src/lib/user-pair.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { answerRequest, befriend, blockUser, createUsers, eventsAbout, pairRows, recordEvents, sendRequest } from '../helpers/social.ts';
import type { TestUser } from '../helpers/users.ts';

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
const users = <N extends number>(count: N, options: { displayName?: string; prefix?: string } = {}) => createUsers(app, count, options);

function expectError(res: { statusCode: number; json: () => unknown }, status: number, error: string) {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toMatchObject({ error, message: expect.any(String) });
}

const unblock = (target: App, blocker: TestUser, blockedId: number) =>
  target.inject({ method: 'DELETE', url: `/api/blocks/${blockedId}`, headers: blocker.auth });

describe('POST /api/blocks', () => {
  it('blocks a user with 201', async () => {
    const [alice, bob] = await users(2, { displayName: '차단 대상' });
    const res = await blockUser(app, alice, bob.id);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ user_id: bob.id, username: bob.username, display_name: '차단 대상', blocked_at: expect.stringMatching(ISO) });
    expect(await app.db.blockUser.count({ where: { blockerId: alice.id, blockedId: bob.id } })).toBe(1);
    expect(await app.relationships.isBlockedEitherWay(alice.id, bob.id)).toBe(true);
    expect(await app.relationships.isBlockedEitherWay(bob.id, alice.id)).toBe(true);
  });

  it('refuses to block myself (400), an unknown or inactive user (404) and a repeat block (409)', async () => {
    const [alice, bob, inactive] = await users(3);
    await app.db.user.update({ where: { id: inactive.id }, data: { isActive: false } });
    expectError(await blockUser(app, alice, alice.id), 400, 'validation_error');
    expectError(await blockUser(app, alice, 2_000_000_000), 404, 'not_found');
    expectError(await blockUser(app, alice, inactive.id), 404, 'not_found');
    expect((await blockUser(app, alice, bob.id)).statusCode).toBe(201);
    expectError(await blockUser(app, alice, bob.id), 409, 'conflict');
    expect(await app.db.blockUser.count({ where: { blockerId: alice.id } })).toBe(1);
  });

  it('lets a blocked user block back', async () => {
    const [alice, bob] = await users(2);
    expect((await blockUser(app, alice, bob.id)).statusCode).toBe(201);
    expect((await blockUser(app, bob, alice.id)).statusCode).toBe(201);
    // One side lifting theirs leaves the other block in force.
    expect((await unblock(app, alice, bob.id)).statusCode).toBe(204);
    expect(await app.relationships.isBlockedEitherWay(alice.id, bob.id)).toBe(true);
    expectError(await sendRequest(app, alice, bob.id), 404, 'not_found');
  });

  it('validates the body and requires a token', async () => {
    const [alice] = await users(1);
    for (const payload of [{}, { user_id: 'abc' }, { user_id: 0 }, { user_id: 3.2 }, { user_id: 5, why: 'spam' }]) {
      expectError(await app.inject({ method: 'POST', url: '/api/blocks', headers: alice.auth, payload }), 400, 'validation_error');
    }
    expectError(await app.inject({ method: 'POST', url: '/api/blocks', payload: { user_id: 1 } }), 401, 'invalid_token');
  });

  it('a concurrent double block gives one 201 and one 409', async () => {
    const [alice, bob] = await users(2);
    const results = await Promise.all([blockUser(app, alice, bob.id), blockUser(other, alice, bob.id)]);
    expect(results.map((res) => res.statusCode).sort()).toEqual([201, 409]);
    expect(await app.db.blockUser.count({ where: { blockerId: alice.id, blockedId: bob.id } })).toBe(1);
  });
});

describe('a block ends the relationship', () => {
  it('ends an accepted friendship for both sides and publishes the events', async () => {
    const recorder = await recordEvents(app);
    try {
      const [alice, bob, carol] = await users(3);
      await befriend(app, alice, bob);
      await befriend(app, alice, carol);
      expect((await blockUser(other, bob, alice.id)).statusCode).toBe(201);
      expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
      const aliceFriends: Array<{ user_id: number }> = (await app.inject({ url: '/api/friends/list', headers: alice.auth })).json();
      expect(aliceFriends.map((item) => item.user_id)).toEqual([carol.id]);
      expect((await app.inject({ url: '/api/friends/list', headers: bob.auth })).json()).toEqual([]);
      expectError(await app.inject({ method: 'DELETE', url: `/api/friends/${alice.id}`, headers: bob.auth }), 404, 'not_found');

      await vi.waitFor(() => expect(eventsAbout(recorder.events, [bob.id])).toHaveLength(3));
      expect(eventsAbout(recorder.events, [bob.id])).toEqual([
        { type: 'friendship_changed', user_ids: [alice.id, bob.id], status: 'accepted' },
        { type: 'block_changed', blocker_id: bob.id, blocked_id: alice.id, blocked: true },
        { type: 'friendship_changed', user_ids: [bob.id, alice.id], status: 'ended' },
      ]);
      expect((await unblock(app, bob, alice.id)).statusCode).toBe(204);
      await vi.waitFor(() =>
        expect(eventsAbout(recorder.events, [bob.id])).toContainEqual({ type: 'block_changed', blocker_id: bob.id, blocked_id: alice.id, blocked: false }),
      );
    } finally {
      recorder.stop();
    }
  });

  it('ends pending requests either way, without a friendship_changed event', async () => {
    const recorder = await recordEvents(app);
    try {
      const [alice, bob, carol] = await users(3);
      await sendRequest(app, alice, bob.id);
      await sendRequest(app, carol, alice.id);
      expect((await blockUser(app, bob, alice.id)).statusCode).toBe(201);
      expect((await blockUser(app, alice, carol.id)).statusCode).toBe(201);
      expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
      expect(await pairRows(app, alice.id, carol.id)).toHaveLength(0);
      for (const user of [alice, bob, carol]) {
        expect((await app.inject({ url: '/api/friends/requests', headers: user.auth })).json()).toEqual({ received: [], sent: [] });
      }
      expectError(await answerRequest(app, bob, alice.id, 'accept'), 404, 'not_found');
      expectError(await app.inject({ method: 'DELETE', url: `/api/friends/request/${bob.id}`, headers: alice.auth }), 404, 'not_found');
      await vi.waitFor(() => expect(eventsAbout(recorder.events, [alice.id])).toHaveLength(2));
      expect(eventsAbout(recorder.events, [alice.id]).every((event) => event.type === 'block_changed')).toBe(true);
    } finally {
      recorder.stop();
    }
  });

  it('is one transaction: a refused (repeat) block leaves the friendship alone', async () => {
    const [alice, bob] = await users(2);
    await app.db.blockUser.create({ data: { blockerId: alice.id, blockedId: bob.id } });
    // A row that could only exist if written around the block (e.g. seeded data).
    await app.db.friendship.create({ data: { requesterId: alice.id, addresseeId: bob.id, ...pairOf(alice.id, bob.id), status: 'accepted' } });
    expectError(await blockUser(app, alice, bob.id), 409, 'conflict');
    expect((await pairRows(app, alice.id, bob.id))[0]?.status).toBe('accepted');
  });

  it('refuses friend requests and hides profiles both ways until unblocked', async () => {
    const [alice, bob] = await users(2);
    await blockUser(app, alice, bob.id);
    expectError(await sendRequest(app, alice, bob.id), 404, 'not_found');
    expectError(await sendRequest(app, bob, alice.id), 404, 'not_found');
    expectError(await app.inject({ url: `/api/profile/${alice.id}`, headers: bob.auth }), 404, 'not_found');
    expectError(await app.inject({ url: `/api/profile/${bob.id}`, headers: alice.auth }), 404, 'not_found');

    expect((await unblock(app, alice, bob.id)).statusCode).toBe(204);
    expect((await app.inject({ url: `/api/profile/${alice.id}`, headers: bob.auth })).statusCode).toBe(200);
    expect((await sendRequest(app, bob, alice.id)).statusCode).toBe(201);
  });

  it('removes blocked users from search either way, and brings them back on unblock', async () => {
    const tag = `b${randomBytes(3).toString('hex')}`;
    const [alice, bob, carol] = await users(3, { prefix: tag });
    const search = async (user: TestUser) =>
      ((await app.inject({ url: `/api/friends/search?q=${tag}`, headers: user.auth })).json() as Array<{ user_id: number }>).map((item) => item.user_id);
    expect(await search(alice)).toEqual(expect.arrayContaining([bob.id, carol.id]));
    await blockUser(app, alice, bob.id);
    expect(await search(alice)).toEqual([carol.id]);
    expect(await search(bob)).toEqual([carol.id]);
    await unblock(app, alice, bob.id);
    expect(await search(bob)).toEqual(expect.arrayContaining([alice.id, carol.id]));
  });

  it('two friends blocking each other at once: both 201, the friendship gone, no 5xx', async () => {
    for (let round = 0; round < 4; round += 1) {
      const [alice, bob] = await users(2);
      await befriend(app, alice, bob);
      const results = await Promise.all([blockUser(app, alice, bob.id), blockUser(other, bob, alice.id)]);
      expect(results.map((res) => res.statusCode)).toEqual([201, 201]);
      expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
      expect(await app.db.blockUser.count({ where: { OR: [{ blockerId: alice.id }, { blockerId: bob.id }] } })).toBe(2);
    }
  });

  it('a block racing a friend request never leaves a row between them', async () => {
    for (let round = 0; round < 6; round += 1) {
      const [alice, bob] = await users(2);
      const [request, block] = await Promise.all([sendRequest(other, bob, alice.id), blockUser(app, alice, bob.id)]);
      expect(block.statusCode).toBe(201);
      expect([201, 404]).toContain(request.statusCode);
      expect(await pairRows(app, alice.id, bob.id)).toHaveLength(0);
    }
  });
});

describe('DELETE /api/blocks/:user_id', () => {
  it('unblocks with 204, then 404; only my own block counts', async () => {
    const [alice, bob] = await users(2);
    await blockUser(app, alice, bob.id);
    expectError(await unblock(app, bob, alice.id), 404, 'not_found');
    const res = await unblock(app, alice, bob.id);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await app.relationships.isBlockedEitherWay(alice.id, bob.id)).toBe(false);
    expectError(await unblock(app, alice, bob.id), 404, 'not_found');
    expectError(await app.inject({ method: 'DELETE', url: '/api/blocks/abc', headers: alice.auth }), 400, 'validation_error');
    expectError(await app.inject({ method: 'DELETE', url: '/api/blocks/-4', headers: alice.auth }), 400, 'validation_error');
    expectError(await app.inject({ method: 'DELETE', url: `/api/blocks/${bob.id}` }), 401, 'invalid_token');
  });
});

describe('GET /api/blocks', () => {
  it('lists the users I blocked, newest first', async () => {
    const [alice, bob, carol, dave] = await users(4, { displayName: '목록' });
    await blockUser(app, alice, bob.id);
    await blockUser(app, alice, carol.id);
    await blockUser(app, dave, alice.id);
    const res = await app.inject({ url: '/api/blocks', headers: alice.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([
      { user_id: carol.id, username: carol.username, display_name: '목록', blocked_at: expect.stringMatching(ISO) },
      { user_id: bob.id, username: bob.username, display_name: '목록', blocked_at: expect.stringMatching(ISO) },
    ]);
    expect((await app.inject({ url: '/api/blocks', headers: bob.auth })).json()).toEqual([]);
    expect((await app.inject({ url: '/api/blocks?limit=1&offset=1', headers: alice.auth })).json()).toEqual([
      expect.objectContaining({ user_id: bob.id }),
    ]);
    expectError(await app.inject({ url: '/api/blocks?limit=500', headers: alice.auth }), 400, 'validation_error');
    expectError(await app.inject({ url: '/api/blocks' }), 401, 'invalid_token');
  });
});
