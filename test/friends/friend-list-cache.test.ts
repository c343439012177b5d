import { describe, expect, it, vi } from 'vitest';
import { FriendListCache } from '../../src/modules/friends/friend-list.cache.ts';
import type { FriendRow } from '../../src/modules/friends/friends.store.ts';
import { type App, useTwoTestApps } from '../helpers/app.ts';
import { befriend, blockUser, createUsers } from '../helpers/social.ts';
import type { TestUser } from '../helpers/users.ts';

// Two instances on one database and Redis: A makes the changes, B serves (and caches) the lists.
let a: App;
let b: App;

useTwoTestApps((first, second) => {
  a = first;
  b = second;
});

const PAGE = { limit: 50, offset: 0 };
/** Well under FRIEND_LIST_TTL_MS: what these waits see was done by the event, not by expiry. */
const EVENT_WAIT = { timeout: 3000, interval: 20 };

type Listed = { user_id: number; display_name: string | null; profile_image_url: string | null; is_online: boolean; last_seen_at: string | null };

async function listOn(app: App, user: TestUser): Promise<Listed[]> {
  const res = await app.inject({ url: '/api/friends/list', headers: user.auth });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const ids = (list: Listed[]) => list.map((item) => item.user_id).sort((x, y) => x - y);

describe('friend lists cached per instance, dropped on every instance by domain events', () => {
  it('serves a repeated list from the cache (a change made behind its back is not seen)', async () => {
    const [me, friend] = await createUsers(a, 2);
    await befriend(a, me, friend);
    expect(ids(await listOn(b, me))).toEqual([friend.id]);
    expect(b.friends.lists.get(me.id, PAGE)).toHaveLength(1);
    // Straight in the database: no event, so B keeps serving what it cached.
    await a.db.user.update({ where: { id: friend.id }, data: { displayName: 'renamed behind its back' } });
    expect((await listOn(b, me))[0]?.display_name).not.toBe('renamed behind its back');
  });

  it('a friendship accepted or ended on A changes the list cached on B', async () => {
    const [me, first, second] = await createUsers(a, 3);
    await befriend(a, me, first);
    expect(ids(await listOn(b, me))).toEqual([first.id]);

    await befriend(a, me, second);
    await vi.waitFor(async () => expect(ids(await listOn(b, me))).toEqual([first.id, second.id].sort((x, y) => x - y)), EVENT_WAIT);
    // The friend's own list on B too (both owners are dropped).
    expect(ids(await listOn(b, second))).toEqual([me.id]);

    expect((await a.inject({ method: 'DELETE', url: `/api/friends/${first.id}`, headers: me.auth })).statusCode).toBe(204);
    await vi.waitFor(async () => expect(ids(await listOn(b, me))).toEqual([second.id]), EVENT_WAIT);
  });

  it('a block on A ends the friendship in the list cached on B', async () => {
    const [me, friend] = await createUsers(a, 2);
    await befriend(a, me, friend);
    expect(ids(await listOn(b, me))).toEqual([friend.id]);
    expect((await blockUser(a, friend, me.id)).statusCode).toBe(201);
    await vi.waitFor(async () => expect(await listOn(b, me)).toEqual([]), EVENT_WAIT);
  });

  it("a friend's profile change on A (name, picture) shows in every list cached on B that has them", async () => {
    const [me, other, friend] = await createUsers(a, 3);
    await befriend(a, me, friend);
    await befriend(a, other, friend);
    await Promise.all([listOn(b, me), listOn(b, other)]);

    const renamed = await a.inject({ method: 'PUT', url: '/api/profile/me', headers: friend.auth, payload: { display_name: '새 이름 ✨' } });
    expect(renamed.statusCode).toBe(200);
    for (const owner of [me, other]) {
      await vi.waitFor(async () => expect((await listOn(b, owner))[0]?.display_name).toBe('새 이름 ✨'), EVENT_WAIT);
    }
  });

  it('presence is never cached: a logout on A shows at once in the list B has cached', async () => {
    const [me, friend] = await createUsers(a, 2);
    await befriend(a, me, friend);
    expect((await listOn(b, me))[0]).toMatchObject({ is_online: true, last_seen_at: null });
    expect((await a.inject({ method: 'POST', url: '/api/auth/logout', headers: friend.auth })).statusCode).toBe(204);
    const after = (await listOn(b, me))[0];
    expect(after).toMatchObject({ is_online: false, last_seen_at: expect.any(String) });
    // Still the cached rows: only the live part changed.
    expect(b.friends.lists.get(me.id, PAGE)).toHaveLength(1);
  });
});

describe('FriendListCache', () => {
  const row = (id: number): FriendRow => ({ id, username: `u${id}`, displayName: null, email: `u${id}@x.test`, profileImageUrl: null, isOnline: false, lastSeenAt: null });

  it('does not keep a page read while a drop happened (a read racing a change)', () => {
    const cache = new FriendListCache();
    const before = cache.generation;
    cache.dropOwner(7); // the change lands while the page is being read
    cache.set(1, PAGE, [row(2)], before);
    expect(cache.get(1, PAGE)).toBeUndefined();
    cache.set(1, PAGE, [row(2)], cache.generation);
    expect(cache.get(1, PAGE)).toHaveLength(1);
  });

  it('drops by member and by owner, expires after its TTL, and stays within its size', () => {
    let now = 0;
    const cache = new FriendListCache(1000, 2, () => now);
    cache.set(1, PAGE, [row(3), row(4)], cache.generation);
    cache.set(2, PAGE, [row(3)], cache.generation);
    cache.dropMember(4);
    expect(cache.get(1, PAGE)).toBeUndefined();
    expect(cache.get(2, PAGE)).toHaveLength(1);
    cache.set(5, PAGE, [], cache.generation);
    cache.set(6, PAGE, [], cache.generation);
    expect(cache.size).toBe(2);
    now = 1000;
    expect(cache.get(6, PAGE)).toBeUndefined();
  });
});
