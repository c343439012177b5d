import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import { createGroup, makeUsers, openDirect, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

const setMuted = (user: TestUser | null, roomId: number | string, payload: unknown) =>
  app.inject({ method: 'PATCH', url: `/api/chat-rooms/${roomId}/settings`, headers: user?.auth ?? {}, payload: payload as object });

const unread = (user: TestUser) => app.inject({ url: '/api/chat-rooms/unread', headers: user.auth });

async function mutedInDb(roomId: number, user: TestUser): Promise<boolean | undefined> {
  const row = await app.db.roomMember.findUnique({ where: { roomId_userId: { roomId, userId: user.id } }, select: { muted: true } });
  return row?.muted;
}

describe('PATCH /api/chat-rooms/:room_id/settings', () => {
  it('mutes and unmutes a room for me only', async () => {
    const [owner, member] = await makeUsers(app, 2, 'mute');
    const room = await createGroup(app, owner!, { member_ids: [member!.id] });
    expect(await mutedInDb(room.id, member!)).toBe(false);

    const muted = await setMuted(member!, room.id, { muted: true });
    expect(muted.statusCode, muted.body).toBe(200);
    expect(muted.json()).toEqual({ room_id: room.id, muted: true });
    expect(await mutedInDb(room.id, member!)).toBe(true);
    expect(await mutedInDb(room.id, owner!)).toBe(false);

    expect((await setMuted(member!, room.id, { muted: true })).json()).toEqual({ room_id: room.id, muted: true });
    expect((await setMuted(member!, room.id, { muted: false })).json()).toEqual({ room_id: room.id, muted: false });
    expect(await mutedInDb(room.id, member!)).toBe(false);
  });

  it('works for direct rooms too', async () => {
    const [a, b] = await makeUsers(app, 2, 'mute');
    const room = await openDirect(app, a!, b!);
    expect((await setMuted(a!, room.id, { muted: true })).json()).toEqual({ room_id: room.id, muted: true });
  });

  it('is for members only: 404 for an unknown room, 403 for a room I am not in', async () => {
    const [owner, outsider] = await makeUsers(app, 2, 'mute');
    const room = await createGroup(app, owner!);
    const notFound = await setMuted(owner!, 2_000_000_000, { muted: true });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json().error).toBe('not_found');
    const forbidden = await setMuted(outsider!, room.id, { muted: true });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error).toBe('forbidden');
  });

  it('refuses a bad body or room id with 400 and a missing token with 401', async () => {
    const [owner] = await makeUsers(app, 1, 'mute');
    const room = await createGroup(app, owner!);
    for (const payload of [{}, { muted: 'yes' }, { muted: true, extra: 1 }, { muted: null }]) {
      const res = await setMuted(owner!, room.id, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
    expect((await setMuted(owner!, 'abc', { muted: true })).statusCode).toBe(400);
    const anonymous = await setMuted(null, room.id, { muted: true });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('GET /api/chat-rooms/unread', () => {
  it('gives the total and each room with unread messages, and is not taken for a room id', async () => {
    const [me, alice, bob] = await makeUsers(app, 3, 'unread');
    const group = await createGroup(app, alice!, { member_ids: [me!.id, bob!.id] });
    const direct = await openDirect(app, bob!, me!);
    const quiet = await openDirect(app, me!, alice!);
    await send(app, alice!, group.id, 'one');
    await send(app, bob!, group.id, 'two');
    await send(app, me!, group.id, 'mine does not count');
    await send(app, bob!, direct.id, 'hi');
    await send(app, me!, quiet.id, 'only mine here');

    const res = await unread(me!);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.total).toBe(3);
    expect(body.rooms).toHaveLength(2);
    expect(body.rooms).toEqual(
      expect.arrayContaining([
        { room_id: group.id, unread_count: 2 },
        { room_id: direct.id, unread_count: 1 },
      ]),
    );
    // Newest activity first.
    expect(body.rooms[0]).toEqual({ room_id: direct.id, unread_count: 1 });

    expect((await unread(alice!)).json()).toEqual({
      total: 3,
      rooms: [
        { room_id: quiet.id, unread_count: 1 },
        { room_id: group.id, unread_count: 2 },
      ],
    });
  });

  it('follows read pointers and leaving a room', async () => {
    const [me, alice] = await makeUsers(app, 2, 'unread');
    const group = await createGroup(app, alice!, { member_ids: [me!.id] });
    const first = await send(app, alice!, group.id, 'first');
    await send(app, alice!, group.id, 'second');
    expect((await unread(me!)).json()).toEqual({ total: 2, rooms: [{ room_id: group.id, unread_count: 2 }] });

    const read = await app.inject({ method: 'POST', url: `/api/messages/${group.id}/read`, headers: me!.auth, payload: { message_id: first.id } });
    expect(read.statusCode, read.body).toBe(200);
    expect((await unread(me!)).json()).toEqual({ total: 1, rooms: [{ room_id: group.id, unread_count: 1 }] });

    expect((await app.inject({ method: 'POST', url: `/api/group-rooms/${group.id}/leave`, headers: me!.auth })).statusCode).toBe(204);
    expect((await unread(me!)).json()).toEqual({ total: 0, rooms: [] });
  });

  it('is empty for a user without rooms and needs a token', async () => {
    const [loner] = await makeUsers(app, 1, 'unread');
    expect((await unread(loner!)).json()).toEqual({ total: 0, rooms: [] });
    expect((await app.inject({ url: '/api/chat-rooms/unread' })).statusCode).toBe(401);
  });
});
