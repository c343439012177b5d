import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentKey } from '../../src/modules/messages/recent-messages.cache.ts';
import type { RoomView } from '../../src/modules/rooms/room.schemas.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { addMember, block, createGroup, eventually, makeUsers, openDirect, recordDomainEvents, send } from '../helpers/rooms.ts';
import { makeFriends } from '../helpers/social.ts';
import type { TestUser } from '../helpers/users.ts';

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

const roleOf = (room: RoomView, user: TestUser) => room.members.find((m) => m.user_id === user.id)?.role;
const memberIds = (room: RoomView) => room.members.map((m) => m.user_id);

async function getRoom(user: TestUser, roomId: number): Promise<RoomView> {
  const res = await app.inject({ url: `/api/chat-rooms/${roomId}`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().room;
}

/** owner, admin, member and an outsider around one group room. */
async function staffedRoom(body: Parameters<typeof createGroup>[2] = {}) {
  const [owner, admin, member, outsider] = await makeUsers(app, 4, 'grp');
  const room = await createGroup(app, owner!, { member_ids: [member!.id], ...body });
  await addMember(app, owner!, room.id, admin!, 'admin');
  return { owner: owner!, admin: admin!, member: member!, outsider: outsider!, room };
}

const call = (method: 'POST' | 'PATCH' | 'DELETE', url: string, user: TestUser, payload?: unknown) =>
  app.inject({ method, url, headers: user.auth, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('POST /api/group-rooms', () => {
  it('creates the room with me as owner and member_ids as members', async () => {
    const [owner, b, c] = await makeUsers(app, 3, 'grp');
    await makeFriends(app, owner!.id, [b!.id, c!.id]);
    const res = await call('POST', '/api/group-rooms', owner!, {
      name: '  스터디 모임 📚 ',
      description: 'Weekly',
      is_private: true,
      max_members: 5,
      member_ids: [b!.id, c!.id, b!.id, owner!.id],
    });
    expect(res.statusCode).toBe(201);
    const { room } = res.json();
    expect(room).toMatchObject({
      type: 'group',
      name: '스터디 모임 📚',
      description: 'Weekly',
      is_private: true,
      max_members: 5,
      created_by: owner!.id,
      last_message: null,
      unread_count: 0,
    });
    expect(memberIds(room)).toHaveLength(3);
    expect(roleOf(room, owner!)).toBe('owner');
    expect(roleOf(room, b!)).toBe('member');
    expect(roleOf(room, c!)).toBe('member');
  });

  it('defaults to a public room of 100 members', async () => {
    const [owner] = await makeUsers(app, 1, 'grp');
    const room = await createGroup(app, owner!, { name: 'Defaults' });
    expect(room).toMatchObject({ is_private: false, max_members: 100, description: null });
    expect(memberIds(room)).toEqual([owner!.id]);
  });

  it('validates name, max_members (2-1000) and member_ids', async () => {
    const [owner, b, c] = await makeUsers(app, 3, 'grp');
    await makeFriends(app, owner!.id, [b!.id, c!.id]);
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: 'ok', max_members: 1 },
      { name: 'ok', max_members: 1001 },
      { name: 'ok', max_members: 2.5 },
      { name: 'ok', member_ids: ['1'] },
      { name: 'ok', unknown_field: true },
      { name: 'ok', max_members: 2, member_ids: [b!.id, c!.id] },
    ]) {
      const res = await call('POST', '/api/group-rooms', owner!, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
    expect((await call('POST', '/api/group-rooms', owner!, { name: 'ok', max_members: 2, member_ids: [b!.id] })).statusCode).toBe(201);
    expect((await call('POST', '/api/group-rooms', owner!, { name: 'ok', max_members: 1000 })).statusCode).toBe(201);
  });

  it('refuses unknown members (404) and members blocked either way (403), creating nothing', async () => {
    const [owner, b, blocker, blocked] = await makeUsers(app, 4, 'grp');
    // Friends, so that the blocks are what refuses them.
    await makeFriends(app, owner!.id, [b!.id, blocker!.id, blocked!.id]);
    await block(app, blocker!, owner!);
    await block(app, owner!, blocked!);
    const before = await app.db.room.count();
    const unknown = await call('POST', '/api/group-rooms', owner!, { name: 'x', member_ids: [b!.id, 1_999_999_999] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toContain('1999999999');
    expect((await call('POST', '/api/group-rooms', owner!, { name: 'x', member_ids: [b!.id, blocker!.id] })).statusCode).toBe(403);
    expect((await call('POST', '/api/group-rooms', owner!, { name: 'x', member_ids: [blocked!.id] })).statusCode).toBe(403);
    expect(await app.db.room.count()).toBe(before);
  });
});

describe('GET /api/group-rooms', () => {
  it('lists my group rooms only; discover=true lists public rooms I am not in', async () => {
    const [me, other] = await makeUsers(app, 2, 'grp');
    const mine = await createGroup(app, me!, { name: 'mine' });
    const joinedByMe = await createGroup(app, other!, { name: 'with me', member_ids: [me!.id] });
    const publicOther = await createGroup(app, other!, { name: 'public' });
    const privateOther = await createGroup(app, other!, { name: 'private', is_private: true });
    const direct = await openDirect(app, me!, other!);

    const list = await app.inject({ url: '/api/group-rooms', headers: me!.auth });
    expect(list.statusCode).toBe(200);
    const ids = list.json().map((r: RoomView) => r.id);
    expect(ids).toEqual(expect.arrayContaining([mine.id, joinedByMe.id]));
    expect(ids).not.toContain(direct.id);
    expect(ids).not.toContain(publicOther.id);

    const discover = await app.inject({ url: '/api/group-rooms?discover=true&limit=100', headers: me!.auth });
    expect(discover.statusCode).toBe(200);
    const found = discover.json() as RoomView[];
    expect(found.map((r) => r.id)).toContain(publicOther.id);
    for (const hidden of [mine.id, joinedByMe.id, privateOther.id, direct.id]) expect(found.map((r) => r.id)).not.toContain(hidden);
    expect(found.every((r) => r.type === 'group' && !r.is_private && r.last_message === null)).toBe(true);
    expect((await app.inject({ url: '/api/group-rooms?discover=maybe', headers: me!.auth })).statusCode).toBe(400);
  });
});

describe('POST /api/group-rooms/:room_id/join', () => {
  it('joins a public room (200), is a no-op when already a member, refuses private (403) and full (409) rooms', async () => {
    const [owner, joiner, late, priv] = await makeUsers(app, 4, 'grp');
    const room = await createGroup(app, owner!, { max_members: 2 });
    const joined = await call('POST', `/api/group-rooms/${room.id}/join`, joiner!);
    expect(joined.statusCode).toBe(200);
    expect(roleOf(joined.json().room, joiner!)).toBe('member');
    const again = await call('POST', `/api/group-rooms/${room.id}/join`, joiner!);
    expect(again.statusCode).toBe(200);
    expect(memberIds(again.json().room)).toHaveLength(2);
    const full = await call('POST', `/api/group-rooms/${room.id}/join`, late!);
    expect(full.statusCode).toBe(409);
    expect(full.json().error).toBe('conflict');

    const privateRoom = await createGroup(app, owner!, { is_private: true });
    const refused = await call('POST', `/api/group-rooms/${privateRoom.id}/join`, priv!);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('forbidden');
  });

  it('never overfills a room under concurrent joins', async () => {
    const [owner, ...joiners] = await makeUsers(app, 9, 'grp');
    const room = await createGroup(app, owner!, { max_members: 4 });
    const results = await Promise.all(joiners.map((user) => call('POST', `/api/group-rooms/${room.id}/join`, user)));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(3);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(5);
    expect(await app.db.roomMember.count({ where: { roomId: room.id, leftAt: null } })).toBe(4);
  });

  it('answers unknown rooms and direct rooms with 404, bad ids with 400', async () => {
    const [a, b] = await makeUsers(app, 2, 'grp');
    const direct = await openDirect(app, a!, b!);
    expect((await call('POST', `/api/group-rooms/${direct.id}/join`, a!)).statusCode).toBe(404);
    expect((await call('POST', '/api/group-rooms/987654321/join', a!)).statusCode).toBe(404);
    expect((await call('POST', '/api/group-rooms/abc/join', a!)).statusCode).toBe(400);
  });
});

describe('POST /api/group-rooms/:room_id/leave', () => {
  it('lets a member leave (204); the room disappears for them', async () => {
    const { member, room, outsider } = await staffedRoom();
    expect((await call('POST', `/api/group-rooms/${room.id}/leave`, member)).statusCode).toBe(204);
    expect((await app.inject({ url: `/api/chat-rooms/${room.id}`, headers: member.auth })).statusCode).toBe(404);
    expect((await call('POST', `/api/group-rooms/${room.id}/leave`, member)).statusCode).toBe(403);
    expect((await call('POST', `/api/group-rooms/${room.id}/leave`, outsider)).statusCode).toBe(403);
  });

  it('hands ownership to the oldest admin when the owner leaves', async () => {
    const [owner, m1, a1, a2] = await makeUsers(app, 4, 'grp');
    const room = await createGroup(app, owner!, { member_ids: [m1!.id] });
    await addMember(app, owner!, room.id, a1!, 'admin');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await addMember(app, owner!, room.id, a2!, 'admin');
    expect((await call('POST', `/api/group-rooms/${room.id}/leave`, owner!)).statusCode).toBe(204);
    const after = await getRoom(m1!, room.id);
    expect(roleOf(after, a1!)).toBe('owner');
    expect(roleOf(after, a2!)).toBe('admin');
    expect(roleOf(after, m1!)).toBe('member');
    expect(after.members.filter((m) => m.role === 'owner')).toHaveLength(1);
  });

  it('hands ownership to the oldest member when there is no admin', async () => {
    const [owner, first, second] = await makeUsers(app, 3, 'grp');
    const room = await createGroup(app, owner!, { member_ids: [first!.id] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await addMember(app, owner!, room.id, second!);
    expect((await call('POST', `/api/group-rooms/${room.id}/leave`, owner!)).statusCode).toBe(204);
    const after = await getRoom(second!, room.id);
    expect(roleOf(after, first!)).toBe('owner');
    expect(roleOf(after, second!)).toBe('member');
  });

  it('deletes the room when the last member leaves', async () => {
    const [owner] = await makeUsers(app, 1, 'grp');
    const room = await createGroup(app, owner!);
    await send(app, owner!, room.id, 'alone');
    expect((await call('POST', `/api/group-rooms/${room.id}/leave`, owner!)).statusCode).toBe(204);
    expect(await app.db.room.findUnique({ where: { id: room.id } })).toBeNull();
    expect(await app.db.chatMessage.count({ where: { roomId: room.id } })).toBe(0);
  });

  it('lets a former member rejoin a public room as a plain member', async () => {
    const { owner, admin, room } = await staffedRoom();
    await call('POST', `/api/group-rooms/${room.id}/leave`, admin);
    const back = await call('POST', `/api/group-rooms/${room.id}/join`, admin);
    expect(back.statusCode).toBe(200);
    expect(roleOf(back.json().room, admin)).toBe('member');
    expect(roleOf(back.json().room, owner)).toBe('owner');
  });
});

describe('PATCH /api/group-rooms/:room_id', () => {
  it('lets the owner and admins change the room; members get 403', async () => {
    const { owner, admin, member, outsider, room } = await staffedRoom();
    const byOwner = await call('PATCH', `/api/group-rooms/${room.id}`, owner, { name: 'Renamed', description: 'new', is_private: true });
    expect(byOwner.statusCode).toBe(200);
    expect(byOwner.json().room).toMatchObject({ name: 'Renamed', description: 'new', is_private: true });
    const byAdmin = await call('PATCH', `/api/group-rooms/${room.id}`, admin, { description: null, max_members: 10 });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.json().room).toMatchObject({ name: 'Renamed', description: null, max_members: 10 });
    expect((await call('PATCH', `/api/group-rooms/${room.id}`, member, { name: 'Mine now' })).statusCode).toBe(403);
    expect((await call('PATCH', `/api/group-rooms/${room.id}`, outsider, { name: 'Mine now' })).statusCode).toBe(403);
    expect((await getRoom(owner, room.id)).name).toBe('Renamed');
  });

  it('validates the changes and refuses a max_members below the member count (409)', async () => {
    const { owner, room } = await staffedRoom();
    for (const body of [{ name: '' }, { max_members: 1 }, { max_members: 1001 }, { is_private: 'yes' }, { type: 'direct' }]) {
      expect((await call('PATCH', `/api/group-rooms/${room.id}`, owner, body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    const tooSmall = await call('PATCH', `/api/group-rooms/${room.id}`, owner, { max_members: 2 });
    expect(tooSmall.statusCode).toBe(409);
    expect((await call('PATCH', `/api/group-rooms/${room.id}`, owner, { max_members: 3 })).statusCode).toBe(200);
  });
});

describe('POST /api/group-rooms/:room_id/members', () => {
  it('owner adds admins and members; admins add members only; members nobody', async () => {
    const { owner, admin, member, room } = await staffedRoom();
    const [x, y, z] = await makeUsers(app, 3, 'grp');
    await makeFriends(app, owner.id, [x!.id, z!.id]);
    await makeFriends(app, admin.id, [y!.id, z!.id]);
    await makeFriends(app, member.id, [z!.id]);
    const byOwner = await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: x!.id, role: 'admin' });
    expect(byOwner.statusCode).toBe(201);
    expect(roleOf(byOwner.json().room, x!)).toBe('admin');
    const byAdmin = await call('POST', `/api/group-rooms/${room.id}/members`, admin, { user_id: y!.id });
    expect(byAdmin.statusCode).toBe(201);
    expect(roleOf(byAdmin.json().room, y!)).toBe('member');
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, admin, { user_id: z!.id, role: 'admin' })).statusCode).toBe(403);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, member, { user_id: z!.id })).statusCode).toBe(403);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: z!.id, role: 'owner' })).statusCode).toBe(400);
  });

  it('refuses unknown users (404), members (409), blocked users (403) and a full room (409)', async () => {
    const { owner, admin, member, room } = await staffedRoom({ max_members: 4 });
    const [blocker, free, extra] = await makeUsers(app, 3, 'grp');
    await makeFriends(app, owner.id, [blocker!.id, free!.id, extra!.id]);
    await makeFriends(app, admin.id, [blocker!.id]);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: 1_999_999_998 })).statusCode).toBe(404);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: member.id })).statusCode).toBe(409);
    await block(app, blocker!, admin);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, admin, { user_id: blocker!.id })).statusCode).toBe(403);
    // Blocks are between the adder and the added: the owner may add that user.
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: blocker!.id })).statusCode).toBe(201);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: free!.id })).statusCode).toBe(409);
    await call('DELETE', `/api/group-rooms/${room.id}/members/${blocker!.id}`, owner);
    expect((await call('POST', `/api/group-rooms/${room.id}/members`, owner, { user_id: extra!.id })).statusCode).toBe(201);
  });
});

describe('concurrent membership changes', () => {
  it('adds many members at once without overfilling the room or starving the connection pool', async () => {
    const [owner, ...candidates] = await makeUsers(app, 15, 'grp');
    const room = await createGroup(app, owner!, { max_members: 9 });
    await makeFriends(app, owner!.id, candidates.map((user) => user.id));
    const results = await Promise.all(
      candidates.map((user) => call('POST', `/api/group-rooms/${room.id}/members`, owner!, { user_id: user.id })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([...Array(8).fill(201), ...Array(6).fill(409)]);
    expect(await app.db.roomMember.count({ where: { roomId: room.id, leftAt: null } })).toBe(9);
  });
});

describe('DELETE /api/group-rooms/:room_id/members/:user_id', () => {
  it('owner removes admins and members; admins remove members only; nobody removes the owner', async () => {
    const { owner, admin, member, room } = await staffedRoom();
    const [m2, a2] = await makeUsers(app, 2, 'grp');
    await addMember(app, owner, room.id, m2!);
    await addMember(app, owner, room.id, a2!, 'admin');
    const url = (user: TestUser) => `/api/group-rooms/${room.id}/members/${user.id}`;

    expect((await call('DELETE', url(m2!), member)).statusCode).toBe(403);
    expect((await call('DELETE', url(a2!), admin)).statusCode).toBe(403);
    expect((await call('DELETE', url(owner), admin)).statusCode).toBe(403);
    expect((await call('DELETE', url(owner), owner)).statusCode).toBe(403);
    expect((await call('DELETE', url(m2!), admin)).statusCode).toBe(204);
    expect((await call('DELETE', url(a2!), owner)).statusCode).toBe(204);
    expect((await call('DELETE', url(m2!), owner)).statusCode).toBe(404);
    const after = await getRoom(owner, room.id);
    expect(memberIds(after).sort()).toEqual([owner.id, admin.id, member.id].sort());
    expect((await app.inject({ url: `/api/chat-rooms/${room.id}`, headers: m2!.auth })).statusCode).toBe(404);
    expect((await call('DELETE', `/api/group-rooms/${room.id}/members/abc`, owner)).statusCode).toBe(400);
  });
});

describe('PATCH /api/group-rooms/:room_id/members/:user_id/role', () => {
  it('lets only the owner change roles, never its own', async () => {
    const { owner, admin, member, room } = await staffedRoom();
    const url = (user: TestUser) => `/api/group-rooms/${room.id}/members/${user.id}/role`;
    const promoted = await call('PATCH', url(member), owner, { role: 'admin' });
    expect(promoted.statusCode).toBe(200);
    expect(roleOf(promoted.json().room, member)).toBe('admin');
    const demoted = await call('PATCH', url(admin), owner, { role: 'member' });
    expect(roleOf(demoted.json().room, admin)).toBe('member');
    expect((await call('PATCH', url(admin), member, { role: 'admin' })).statusCode).toBe(403);
    expect((await call('PATCH', url(owner), owner, { role: 'member' })).statusCode).toBe(403);
    expect((await call('PATCH', url(member), owner, { role: 'owner' })).statusCode).toBe(400);
    const [stranger] = await makeUsers(app, 1, 'grp');
    expect((await call('PATCH', url(stranger!), owner, { role: 'admin' })).statusCode).toBe(404);
  });
});

describe('PATCH /api/group-rooms/:room_id/members/me', () => {
  it('sets my nickname in this room; an empty string resets it', async () => {
    const { member, outsider, room } = await staffedRoom();
    const url = `/api/group-rooms/${room.id}/members/me`;
    const set = await call('PATCH', url, member, { nickname: '  막내 🐣 ' });
    expect(set.statusCode).toBe(200);
    expect(set.json().room.members.find((m: { user_id: number }) => m.user_id === member.id).nickname).toBe('막내 🐣');
    const reset = await call('PATCH', url, member, { nickname: '' });
    expect(reset.json().room.members.find((m: { user_id: number }) => m.user_id === member.id).nickname).toBeNull();
    expect((await call('PATCH', url, member, { nickname: 'x'.repeat(101) })).statusCode).toBe(400);
    expect((await call('PATCH', url, outsider, { nickname: 'me' })).statusCode).toBe(403);
    const direct = await openDirect(app, member, outsider);
    expect((await call('PATCH', `/api/group-rooms/${direct.id}/members/me`, member, { nickname: 'x' })).statusCode).toBe(404);
  });

  it('requires a token on every group route', async () => {
    const { room } = await staffedRoom();
    for (const [method, url] of [
      ['GET', '/api/group-rooms'],
      ['POST', '/api/group-rooms'],
      ['POST', `/api/group-rooms/${room.id}/join`],
      ['PATCH', `/api/group-rooms/${room.id}/members/me`],
      ['DELETE', `/api/group-rooms/${room.id}`],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401);
    }
  });
});

describe('DELETE /api/group-rooms/:room_id', () => {
  it('lets only the owner delete the room, with its messages', async () => {
    const { owner, admin, member, room } = await staffedRoom();
    await send(app, member, room.id, 'bye');
    expect((await call('DELETE', `/api/group-rooms/${room.id}`, admin)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/group-rooms/${room.id}`, member)).statusCode).toBe(403);
    const recorder = await recordDomainEvents(app);
    try {
      expect((await call('DELETE', `/api/group-rooms/${room.id}`, owner)).statusCode).toBe(204);
      await eventually(() => recorder.events.some((e) => e.type === 'room_changed' && e.change === 'deleted' && e.room_id === room.id));
      const event = recorder.events.find((e) => e.type === 'room_changed' && e.room_id === room.id);
      expect(event?.type === 'room_changed' && [...event.member_ids].sort()).toEqual([owner.id, admin.id, member.id].sort());
    } finally {
      recorder.stop();
    }
    expect((await app.inject({ url: `/api/chat-rooms/${room.id}`, headers: owner.auth })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/messages/${room.id}`, headers: owner.auth })).statusCode).toBe(404);
    expect(await app.db.chatMessage.count({ where: { roomId: room.id } })).toBe(0);
    // The clean-up succeeded: nothing is left owed for it.
    expect(await app.db.roomPurge.count({ where: { roomId: room.id } })).toBe(0);
    expect((await call('DELETE', `/api/group-rooms/${room.id}`, owner)).statusCode).toBe(404);
  });

  it('retries a clean-up that failed until it is done', async () => {
    const { owner, member, room } = await staffedRoom();
    await send(app, member, room.id, 'cached');
    await app.redis.rpush(recentKey(room.id), 'a cached entry');
    // A deletion whose clean-up never ran (its instance stopped, or the store was down): the
    // room is gone, its row in room_purges stays, and the room's cache is still in Redis.
    await app.db.$transaction([
      app.db.room.delete({ where: { id: room.id } }),
      app.db.roomPurge.create({ data: { roomId: room.id, requestedAt: new Date(Date.now() - 120_000) } }),
    ]);
    const fresh = await app.db.roomPurge.create({ data: { roomId: 2_000_000_000 } });

    const result = await app.rooms.service.retryPurges(60_000);
    expect(result.failed).toBe(0);
    expect(result.done).toBeGreaterThanOrEqual(1);
    expect(await app.db.roomPurge.count({ where: { roomId: room.id } })).toBe(0);
    expect(await app.redis.exists(recentKey(room.id))).toBe(0);
    // A clean-up requested within the grace period is left to the request that asked for it.
    expect(await app.db.roomPurge.count({ where: { roomId: fresh.roomId } })).toBe(1);
    await app.db.roomPurge.delete({ where: { roomId: fresh.roomId } });
    expect((await call('DELETE', `/api/group-rooms/${room.id}`, owner)).statusCode).toBe(404);
  });
});

describe('room_changed events', () => {
  it('names the change and the members it is about', async () => {
    const { owner, admin, member, room } = await staffedRoom();
    const [newcomer] = await makeUsers(app, 1, 'grp');
    const recorder = await recordDomainEvents(app);
    try {
      await addMember(app, admin, room.id, newcomer!);
      await call('PATCH', `/api/group-rooms/${room.id}/members/${member.id}/role`, owner, { role: 'admin' });
      await call('PATCH', `/api/group-rooms/${room.id}`, owner, { name: 'Evented' });
      await call('DELETE', `/api/group-rooms/${room.id}/members/${newcomer!.id}`, owner);
      await call('POST', `/api/group-rooms/${room.id}/leave`, owner);
      await eventually(() => recorder.events.filter((e) => e.type === 'room_changed' && e.room_id === room.id).length >= 5);
      const changes = recorder.events.flatMap((e) => (e.type === 'room_changed' && e.room_id === room.id ? [e] : []));
      expect(changes.map((e) => [e.change, e.actor_id, e.member_ids])).toEqual([
        ['member_added', admin.id, [newcomer!.id]],
        ['role_changed', owner.id, [member.id]],
        ['updated', owner.id, []],
        ['member_removed', owner.id, [newcomer!.id]],
        // The oldest admin is now `member` (in the room since its creation, promoted above).
        ['member_left', owner.id, [owner.id, member.id]],
      ]);
      expect(changes[2]?.room).toMatchObject({ id: room.id, name: 'Evented' });
      expect(changes[4]?.room?.members.find((m) => m.user_id === member.id)?.role).toBe('owner');
    } finally {
      recorder.stop();
    }
  });
});
