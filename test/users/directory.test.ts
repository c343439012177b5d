import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import { answerRequest, befriend, blockUser, createUsers, sendRequest } from '../helpers/social.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

let app: App;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

/** A tag no other suite's user names contain (their names are `<prefix>_<hex><n>`). */
const newTag = (letter: string) => `${letter}q${randomBytes(3).toString('hex')}`;

interface Entry {
  user_id: number;
  username: string;
  display_name: string | null;
  profile_image_url: string | null;
  is_friend: boolean;
  friend_request: 'sent' | 'received' | null;
}

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json()).toMatchObject({ error: code, message: expect.any(String) });
}

async function search(user: TestUser, q: string, extra = ''): Promise<Entry[]> {
  const res = await app.inject({ url: `/api/users/search?q=${encodeURIComponent(q)}${extra}`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const idsOf = (entries: Array<{ user_id: number } | { id: number }>) => entries.map((entry) => ('user_id' in entry ? entry.user_id : entry.id));

function deactivate(user: TestUser) {
  return app.db.user.update({ where: { id: user.id }, data: { isActive: false } });
}

describe('GET /api/users/search', () => {
  const tag = newTag('d');
  let me: TestUser;
  const found: Record<string, TestUser> = {};
  const hidden: Record<string, TestUser> = {};

  beforeAll(async () => {
    me = await createUser(app, { prefix: `${tag}_me` });
    const byUsername = (prefix: string) => createUser(app, { prefix });
    const byDisplay = (displayName: string) => createUser(app, { prefix: 'dir', displayName });
    Object.assign(found, {
      usernamePrefix: await byUsername(`${tag}_alpha`),
      displayPrefix: await byDisplay(`${tag.toUpperCase()} Display`),
      usernameSubstring: await byUsername(`a_${tag}`),
      displaySubstring: await byDisplay(`Mr ${tag}`),
      friend: await byUsername(`${tag}_friend`),
      sent: await byUsername(`${tag}_sent`),
      received: await byUsername(`${tag}_recv`),
      rejected: await byUsername(`${tag}_rej`),
    });
    Object.assign(hidden, {
      inactive: await byUsername(`${tag}_inactive`),
      blockedByMe: await byUsername(`${tag}_bbm`),
      blockedMe: await byUsername(`${tag}_bme`),
    });
    await befriend(app, me, found.friend!);
    expect((await sendRequest(app, me, found.sent!.id)).statusCode).toBe(201);
    expect((await sendRequest(app, found.received!, me.id)).statusCode).toBe(201);
    expect((await sendRequest(app, found.rejected!, me.id)).statusCode).toBe(201);
    expect((await answerRequest(app, me, found.rejected!.id, 'reject')).statusCode).toBe(200);
    await deactivate(hidden.inactive!);
    expect((await blockUser(app, me, hidden.blockedByMe!.id)).statusCode).toBe(201);
    expect((await blockUser(app, hidden.blockedMe!, me.id)).statusCode).toBe(201);
  });

  it('finds every active user matching by username or display name, but not me, inactive or blocked users', async () => {
    const results = await search(me, tag);
    expect(idsOf(results).sort()).toEqual(Object.values(found).map((user) => user.id).sort());
    for (const user of [me, ...Object.values(hidden)]) expect(idsOf(results)).not.toContain(user.id);
  });

  it('lists prefix matches (username or display name) before substring matches', async () => {
    const ids = idsOf(await search(me, tag));
    const substring = [found.usernameSubstring!.id, found.displaySubstring!.id];
    const firstSubstring = Math.min(...substring.map((id) => ids.indexOf(id)));
    expect(firstSubstring).toBe(ids.length - substring.length);
    expect(ids.indexOf(found.displayPrefix!.id)).toBeLessThan(firstSubstring);
    expect(ids.indexOf(found.usernamePrefix!.id)).toBeLessThan(firstSubstring);
  });

  it('is case-insensitive and answers in the contract shape', async () => {
    const results = await search(me, tag.toUpperCase());
    expect(results).toHaveLength(Object.keys(found).length);
    expect(results.find((entry) => entry.user_id === found.displayPrefix!.id)).toEqual({
      user_id: found.displayPrefix!.id,
      username: found.displayPrefix!.username,
      display_name: `${tag.toUpperCase()} Display`,
      profile_image_url: null,
      is_friend: false,
      friend_request: null,
    });
  });

  it('tells friends and pending requests both ways', async () => {
    const byId = new Map((await search(me, tag)).map((entry) => [entry.user_id, entry]));
    const standing = (user: TestUser) => {
      const entry = byId.get(user.id);
      return entry && { is_friend: entry.is_friend, friend_request: entry.friend_request };
    };
    expect(standing(found.friend!)).toEqual({ is_friend: true, friend_request: null });
    expect(standing(found.sent!)).toEqual({ is_friend: false, friend_request: 'sent' });
    expect(standing(found.received!)).toEqual({ is_friend: false, friend_request: 'received' });
    expect(standing(found.rejected!)).toEqual({ is_friend: false, friend_request: null });
    expect(standing(found.usernamePrefix!)).toEqual({ is_friend: false, friend_request: null });
    // The other side sees the same request the other way round.
    const theirs = await search(found.sent!, `${tag}_me`);
    expect(theirs.map((entry) => [entry.user_id, entry.friend_request])).toEqual([[me.id, 'received']]);
  });

  it('hides blocked users from both sides', async () => {
    expect(idsOf(await search(hidden.blockedMe!, `${tag}_me`))).toEqual([]);
    expect(idsOf(await search(hidden.blockedByMe!, `${tag}_me`))).toEqual([]);
    expect(idsOf(await search(hidden.blockedMe!, `${tag}_alpha`))).toEqual([found.usernamePrefix!.id]);
  });
});

describe('GET /api/users/search: text', () => {
  it('takes % and _ and the escape character literally', async () => {
    const tag = newTag('m');
    const [me, percent, notPercent, underscore, notUnderscore, bang, notBang] = await Promise.all([
      createUser(app),
      createUser(app, { displayName: `${tag}%off` }),
      createUser(app, { displayName: `${tag}XXoff` }),
      createUser(app, { displayName: `${tag}_b` }),
      createUser(app, { displayName: `${tag}xb` }),
      createUser(app, { displayName: `${tag}!x` }),
      createUser(app, { displayName: `${tag}x` }),
    ]);
    expect(idsOf(await search(me, `${tag}%off`))).toEqual([percent.id]);
    expect(idsOf(await search(me, `${tag}_b`))).toEqual([underscore.id]);
    expect(idsOf(await search(me, `${tag}!x`))).toEqual([bang.id]);
    expect(idsOf(await search(me, '%%%%'))).not.toContain(notPercent.id);
    expect(idsOf(await search(me, '____'))).not.toContain(notUnderscore.id);
    expect(idsOf(await search(me, `${tag}x`)).sort()).toEqual([notPercent.id, notUnderscore.id, notBang.id].sort());
  });

  it('matches Korean and emoji exactly, as prefix and as substring', async () => {
    const tag = newTag('k');
    const [me, minjun, cheolsu, party, balloon] = await Promise.all([
      createUser(app),
      createUser(app, { displayName: `김민준 ${tag}` }),
      createUser(app, { displayName: `김철수 ${tag}` }),
      createUser(app, { displayName: `${tag}🎉파티` }),
      createUser(app, { displayName: `${tag}🎈파티` }),
    ]);
    expect(idsOf(await search(me, `김민준 ${tag}`))).toEqual([minjun.id]);
    expect(idsOf(await search(me, `수 ${tag}`))).toEqual([cheolsu.id]);
    expect(idsOf(await search(me, `${tag}🎉`))).toEqual([party.id]);
    expect(idsOf(await search(me, `🎈파티`))).toContain(balloon.id);
    expect(idsOf(await search(me, `🎈파티`))).not.toContain(party.id);
    const [entry] = await search(me, `${tag}🎉`);
    expect(entry?.display_name).toBe(`${tag}🎉파티`);
  });

  it('needs q of at least 2 characters without control characters', async () => {
    const me = await createUser(app);
    const bad = ['', '?q=', '?q=a', '?q=%20a%20', `?q=${encodeURIComponent('😀')}`, '?q=a%00b', '?q=ab%09c', '?q=ab%0A', `?q=${'a'.repeat(101)}`, '?q=ab&q=cd'];
    for (const query of bad) {
      expectError(await app.inject({ url: `/api/users/search${query}`, headers: me.auth }), 400, 'validation_error');
    }
    for (const q of ['ab', '김철', '😀😀']) {
      expect((await app.inject({ url: `/api/users/search?q=${encodeURIComponent(q)}`, headers: me.auth })).statusCode).toBe(200);
    }
  });

  it('returns 20 by default and at most `limit` (1 to 50)', async () => {
    const tag = newTag('l');
    await createUsers(app, 22, { prefix: tag });
    const me = await createUser(app);
    expect(await search(me, tag)).toHaveLength(20);
    expect(await search(me, tag, '&limit=3')).toHaveLength(3);
    expect(await search(me, tag, '&limit=50')).toHaveLength(22);
    expect(await search(me, tag, '&limit=1')).toHaveLength(1);
    for (const limit of ['0', '51', '-1', '2.5', 'abc', '']) {
      const res = await app.inject({ url: `/api/users/search?q=${tag}&limit=${limit}`, headers: me.auth });
      expectError(res, 400, 'validation_error');
    }
  });
});

describe('GET /api/users/:user_id', () => {
  let me: TestUser;
  let stranger: TestUser;
  let friend: TestUser;

  beforeAll(async () => {
    [me, stranger, friend] = await createUsers(app, 3, { displayName: '사용자 👤' });
    await befriend(app, me, friend);
  });

  it("answers exactly what the profile answers: the email only for me and my friends", async () => {
    for (const [user, email] of [[stranger, null], [friend, friend.email], [me, me.email]] as const) {
      const res = await app.inject({ url: `/api/users/${user.id}`, headers: me.auth });
      expect(res.statusCode).toBe(200);
      expect(res.json().user).toMatchObject({ id: user.id, username: user.username, email, display_name: '사용자 👤' });
      const profile = await app.inject({ url: `/api/profile/${user.id}`, headers: me.auth });
      expect(res.json()).toEqual(profile.json());
    }
  });

  it('is 404 for unknown, inactive and blocked users (either way)', async () => {
    const [inactive, blockedByMe, blockedMe] = await createUsers(app, 3);
    await deactivate(inactive);
    await blockUser(app, me, blockedByMe.id);
    await blockUser(app, blockedMe, me.id);
    for (const id of [2_147_483_647, inactive.id, blockedByMe.id, blockedMe.id]) {
      expectError(await app.inject({ url: `/api/users/${id}`, headers: me.auth }), 404, 'not_found');
    }
    expectError(await app.inject({ url: `/api/users/${me.id}`, headers: blockedMe.auth }), 404, 'not_found');
  });

  it('is 400 for ids that are not positive integers', async () => {
    for (const id of ['abc', '1.5', '0', '-1', '1e3', '0x10', '2147483648', '%20']) {
      expectError(await app.inject({ url: `/api/users/${id}`, headers: me.auth }), 400, 'validation_error');
    }
  });
});

describe('GET /api/users?ids=', () => {
  it('returns the visible users once each, in the order asked, leaving out unknown, inactive and blocked ones', async () => {
    const [me, friend, stranger, inactive, blockedByMe, blockedMe] = await createUsers(app, 6);
    await befriend(app, me, friend);
    await deactivate(inactive);
    await blockUser(app, me, blockedByMe.id);
    await blockUser(app, blockedMe, me.id);
    const ids = [stranger.id, 2_147_483_647, friend.id, inactive.id, blockedByMe.id, stranger.id, blockedMe.id, me.id, friend.id];
    const res = await app.inject({ url: `/api/users?ids=${ids.join(',')}`, headers: me.auth });
    expect(res.statusCode, res.body).toBe(200);
    const users: Array<{ id: number; email: string | null }> = res.json();
    expect(users.map((user) => [user.id, user.email])).toEqual([
      [stranger.id, null],
      [friend.id, friend.email],
      [me.id, me.email],
    ]);
    const single = await app.inject({ url: `/api/users/${friend.id}`, headers: me.auth });
    expect(users[1]).toEqual(single.json().user);
  });

  it('takes at most 100 ids and refuses malformed lists', async () => {
    const me = await createUser(app);
    const hundred = Array.from({ length: 100 }, (_, index) => me.id + index);
    const ok = await app.inject({ url: `/api/users?ids=${hundred.join(',')}`, headers: me.auth });
    expect(ok.statusCode).toBe(200);
    expect(idsOf(ok.json())).toContain(me.id);
    expectError(await app.inject({ url: `/api/users?ids=${[...hundred, me.id + 100].join(',')}`, headers: me.auth }), 400, 'validation_error');
    for (const query of ['', '?ids=', '?ids=abc', '?ids=1,,2', '?ids=1,2,', '?ids=0', '?ids=-1', '?ids=1.5', '?ids=%201', '?ids=2147483648', '?ids=1;2', '?ids=1&ids=2']) {
      expectError(await app.inject({ url: `/api/users${query}`, headers: me.auth }), 400, 'validation_error');
    }
  });
});

describe('authentication', () => {
  it('refuses every directory route without a valid token', async () => {
    const user = await createUser(app);
    for (const url of ['/api/users/search?q=ab', `/api/users/${user.id}`, `/api/users?ids=${user.id}`]) {
      expectError(await app.inject({ url }), 401, 'invalid_token');
      expectError(await app.inject({ url, headers: { authorization: 'Bearer nope' } }), 401, 'invalid_token');
    }
  });
});
