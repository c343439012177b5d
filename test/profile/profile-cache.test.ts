import { describe, expect, it, vi } from 'vitest';
import { PROFILE_TTL_MS, ProfileCache } from '../../src/modules/users/profile.cache.ts';
import type { UserViewSource } from '../../src/modules/users/user.view.ts';
import { type App, useTwoTestApps } from '../helpers/app.ts';
import { befriend, createUsers } from '../helpers/social.ts';
import { loginUser, type TestUser } from '../helpers/users.ts';

// Two instances on one database and Redis: A makes the changes, B serves (and caches) the profiles.
let a: App;
let b: App;

useTwoTestApps((first, second) => {
  a = first;
  b = second;
});

/** Well under PROFILE_TTL_MS: what these waits see was done by the event, not by expiry. */
const EVENT_WAIT = { timeout: PROFILE_TTL_MS / 2, interval: 20 };

type Profile = { id: number; email: string | null; display_name: string | null; profile_image_url: string | null; status_message: string | null; is_online: boolean; last_seen_at: string | null };

async function profileOn(app: App, viewer: TestUser, url: string): Promise<Profile> {
  const res = await app.inject({ url, headers: viewer.auth });
  expect(res.statusCode).toBe(200);
  return res.json().user;
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);

function uploadOn(app: App, user: TestUser) {
  const boundary = `----bigtech${Math.random().toString(16).slice(2)}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
    PNG,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return app.inject({ method: 'POST', url: '/api/profile/me/image', headers: { ...user.auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
}

/** The users whose stored presence `app` has heard of (the presence publication), until stop(). */
function storedHeardOn(app: App): { heard: Set<number>; stop: () => void } {
  const heard = new Set<number>();
  const stop = app.presenceHub.onStored((userId) => heard.add(userId));
  return { heard, stop };
}

/** Two users made on A, once B has heard of their logins (which drop their rows): no drop is still on its way. */
async function settledUsers(): Promise<[TestUser, TestUser]> {
  const listener = storedHeardOn(b);
  const users = await createUsers(a, 2);
  await vi.waitFor(() => expect(users.every((user) => listener.heard.has(user.id))).toBe(true), EVENT_WAIT);
  listener.stop();
  return users;
}

/** Expires `user`'s presence the way the heartbeat monitor does, claimed (recorded and published) by `app`. */
async function expireOn(app: App, user: TestUser): Promise<void> {
  await app.redis.del(`user:online:${user.id}`);
  expect(await app.presence.expire(user.id)).toBe(true);
}

describe('profiles cached per instance, dropped on every instance by domain events and presence publications', () => {
  it('serves a repeated profile from the cache (a change made behind its back is not seen)', async () => {
    const [me, other] = await settledUsers();
    await profileOn(b, me, `/api/users/${other.id}`);
    expect(b.users.profiles.get(other.id)).toBeDefined();
    await a.db.user.update({ where: { id: other.id }, data: { statusMessage: 'behind its back' } });
    expect((await profileOn(b, me, `/api/profile/${other.id}`)).status_message).toBeNull();
  });

  it('a profile update on A is seen at once in the profile cached on B, by others and by me', async () => {
    const [me, other] = await createUsers(a, 2);
    expect((await profileOn(b, other, `/api/profile/${me.id}`)).display_name).not.toBe('새 이름');
    expect((await profileOn(b, me, '/api/profile/me')).display_name).not.toBe('새 이름');

    const put = await a.inject({ method: 'PUT', url: '/api/profile/me', headers: me.auth, payload: { display_name: '새 이름', status_message: 'hello' } });
    expect(put.statusCode).toBe(200);
    // A answers with the new row at once (dropped locally before the event).
    expect(await profileOn(a, me, '/api/profile/me')).toEqual(put.json().user);
    await vi.waitFor(async () => expect(await profileOn(b, me, '/api/profile/me')).toEqual(put.json().user), EVENT_WAIT);
    await vi.waitFor(async () => expect(await profileOn(b, other, `/api/users/${me.id}`)).toMatchObject({ display_name: '새 이름', status_message: 'hello', email: null }), EVENT_WAIT);
  });

  it('an avatar upload and removal on A are seen at once in the profile cached on B', async () => {
    const [me, other] = await createUsers(a, 2);
    expect((await profileOn(b, other, `/api/profile/${me.id}`)).profile_image_url).toBeNull();

    const uploaded = await uploadOn(a, me);
    expect(uploaded.statusCode).toBe(200);
    const url: string = uploaded.json().user.profile_image_url;
    await vi.waitFor(async () => expect((await profileOn(b, other, `/api/profile/${me.id}`)).profile_image_url).toBe(url), EVENT_WAIT);

    expect((await a.inject({ method: 'DELETE', url: '/api/profile/me/image', headers: me.auth })).statusCode).toBe(204);
    await vi.waitFor(async () => expect((await profileOn(b, other, `/api/profile/${me.id}`)).profile_image_url).toBeNull(), EVENT_WAIT);
  });

  it("a logout on A is seen at once in the cached profile's is_online and last_seen_at on B", async () => {
    const [me, other] = await createUsers(a, 2);
    expect((await profileOn(b, other, `/api/profile/${me.id}`)).is_online).toBe(true);
    expect((await a.inject({ method: 'POST', url: '/api/auth/logout', headers: me.auth })).statusCode).toBeLessThan(300);
    await vi.waitFor(async () => {
      const seen = await profileOn(b, other, `/api/profile/${me.id}`);
      expect(seen.is_online).toBe(false);
      expect(seen.last_seen_at).not.toBeNull();
    }, EVENT_WAIT);
  });

  it("a login on A is seen at once in the cached profile's is_online on B", async () => {
    const [me, other] = await settledUsers();
    expect((await a.inject({ method: 'POST', url: '/api/auth/logout', headers: me.auth })).statusCode).toBeLessThan(300);
    await vi.waitFor(async () => expect((await profileOn(b, other, `/api/profile/${me.id}`)).is_online).toBe(false), EVENT_WAIT);
    expect(b.users.profiles.get(me.id)).toBeDefined();
    await loginUser(a, me);
    await vi.waitFor(async () => expect((await profileOn(b, other, `/api/profile/${me.id}`)).is_online).toBe(true), EVENT_WAIT);
  });

  it("a heartbeat expiry claimed on A is seen at once in the cached profile's is_online and last_seen_at on B", async () => {
    const [me, other] = await settledUsers();
    expect((await profileOn(b, other, `/api/profile/${me.id}`)).is_online).toBe(true);
    expect(b.users.profiles.get(me.id)).toBeDefined();
    await expireOn(a, me);
    await vi.waitFor(async () => {
      const seen = await profileOn(b, other, `/api/profile/${me.id}`);
      expect(seen.is_online).toBe(false);
      expect(seen.last_seen_at).not.toBeNull();
    }, EVENT_WAIT);
  });

  it("a logout on A of a user already offline (it re-stamps last_seen_at, no status change) is seen at once on B", async () => {
    const [me, other] = await settledUsers();
    await expireOn(a, me);
    let expired: string | null = null;
    await vi.waitFor(async () => {
      expired = (await profileOn(b, other, `/api/profile/${me.id}`)).last_seen_at;
      expect(expired).not.toBeNull();
    }, EVENT_WAIT);
    expect(b.users.profiles.get(me.id)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 5)); // last_seen_at has millisecond precision
    const changesBefore = b.presenceHub.stats().changesReceived;
    expect((await a.inject({ method: 'POST', url: '/api/auth/logout', headers: me.auth })).statusCode).toBeLessThan(300);
    await vi.waitFor(async () => expect((await profileOn(b, other, `/api/profile/${me.id}`)).last_seen_at).not.toBe(expired), EVENT_WAIT);
    // Not announced as a second offline change: streams watching the user heard nothing.
    expect(b.presenceHub.stats().changesReceived).toBe(changesBefore);
  });

  it('viewer-dependent answers are never cached: a friendship or a block changes them at once', async () => {
    const [me, other] = await createUsers(a, 2);
    expect((await profileOn(b, me, `/api/users/${other.id}`)).email).toBeNull();
    await befriend(a, me, other);
    expect((await profileOn(b, me, `/api/users/${other.id}`)).email).toBe(other.email);
    await a.db.blockUser.create({ data: { blockerId: other.id, blockedId: me.id } });
    expect((await b.inject({ url: `/api/users/${other.id}`, headers: me.auth })).statusCode).toBe(404);
  });

  it('a deactivation (made in the database: no event announces it) is seen within PROFILE_TTL_MS on B', async () => {
    const [me, other] = await createUsers(a, 2);
    await profileOn(b, me, `/api/profile/${other.id}`);
    await a.db.user.update({ where: { id: other.id }, data: { isActive: false } });
    await vi.waitFor(async () => expect((await b.inject({ url: `/api/profile/${other.id}`, headers: me.auth })).statusCode).toBe(404), {
      timeout: PROFILE_TTL_MS + 1000,
      interval: 50,
    });
  });
});

describe('ProfileCache', () => {
  const row = (id: number, statusMessage: string | null = null): UserViewSource => ({
    id, email: `u${id}@example.com`, username: `u${id}`, displayName: null, profileImageUrl: null,
    statusMessage, isOnline: false, lastSeenAt: null, createdAt: new Date(0),
  });

  it('never keeps a row whose read raced a drop', () => {
    const cache = new ProfileCache();
    const generation = cache.generation; // read starts
    cache.drop([1]); // the row changes meanwhile
    cache.set(1, row(1, 'stale'), generation); // the read ends with the old row
    expect(cache.get(1)).toBeUndefined();
    cache.set(1, row(1, 'fresh'), cache.generation);
    expect(cache.get(1)?.statusMessage).toBe('fresh');
  });

  it('expires after its TTL and stays within its bound', () => {
    let now = 0;
    const cache = new ProfileCache(1000, 2, () => now);
    cache.set(1, row(1), cache.generation);
    cache.set(2, row(2), cache.generation);
    cache.set(3, row(3), cache.generation);
    expect(cache.size).toBe(2);
    expect(cache.get(1)).toBeUndefined();
    now = 1000;
    expect(cache.get(2)).toBeUndefined();
  });
});
