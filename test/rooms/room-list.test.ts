import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import { addMember, createGroup, makeUsers, openDirect, send } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

const get = (user: TestUser, url: string) => app.inject({ url, headers: user.auth });

/** The room as `GET /api/chat-rooms/:room_id` writes it (the single-room path, through Prisma). */
async function singleRoomText(user: TestUser, roomId: number): Promise<string> {
  const res = await get(user, `/api/chat-rooms/${roomId}`);
  expect(res.statusCode, res.body).toBe(200);
  const prefix = '{"room":';
  expect(res.body.startsWith(prefix)).toBe(true);
  return res.body.slice(prefix.length, -1);
}

/** The list's bytes must be exactly the single rooms' bytes, in the list's order. */
async function expectSameBytesAsSingleRooms(user: TestUser, url: string, expectedCount: number): Promise<void> {
  const res = await get(user, url);
  expect(res.statusCode, res.body).toBe(200);
  const ids = (res.json() as { id: number }[]).map((room) => room.id);
  expect(ids).toHaveLength(expectedCount);
  const singles = await Promise.all(ids.map((id) => singleRoomText(user, id)));
  expect(res.body).toBe(`[${singles.join(',')}]`);
}

describe('GET /api/chat-rooms with many rooms and members', () => {
  it('answers a 100-room page byte for byte as the single rooms read one by one', async () => {
    const me = await createUser(app, { displayName: 'Ada 🐣 "quoted" \\ back', prefix: 'list' });
    const peers = [...(await makeUsers(app, 6, 'list')), await createUser(app, { displayName: '막내', prefix: 'list' })];
    const leaver = peers[3]!;

    // Groups with several members (some named, some not), nicknames, someone who left.
    const groups: { id: number; owner: TestUser }[] = [];
    for (let i = 0; i < 60; i += 1) {
      const owner = i % 3 === 0 ? me : peers[i % peers.length]!;
      const others = peers.filter((peer) => peer !== owner && peer !== leaver).slice(0, 1 + (i % 5));
      const memberIds = [...(owner === me ? [] : [me.id]), ...others.map((peer) => peer.id)];
      const room = await createGroup(app, owner, { name: `group ${i}`, description: i % 2 ? `about ${i}` : undefined, is_private: i % 4 === 0, member_ids: memberIds });
      groups.push({ id: room.id, owner });
    }
    const left = groups[1]!;
    await addMember(app, left.owner, left.id, leaver);
    expect((await app.inject({ method: 'POST', url: `/api/group-rooms/${left.id}/leave`, headers: leaver.auth })).statusCode).toBeLessThan(300);
    const nick = await app.inject({ method: 'PATCH', url: `/api/group-rooms/${groups[3]!.id}/members/me`, headers: me.auth, payload: { nickname: 'captain' } });
    expect(nick.statusCode, nick.body).toBe(200);

    // Direct rooms, and messages (mine and others') in some rooms: last_message and unread_count vary.
    for (const peer of peers) await openDirect(app, me, peer);
    for (let i = 0; i < 40; i += 1) {
      const room = groups[i]!;
      for (let n = 0; n <= i % 3; n += 1) await send(app, i % 2 ? me : room.owner, room.id, `message ${i}.${n} ✓`);
    }

    await expectSameBytesAsSingleRooms(me, '/api/chat-rooms?limit=100', 67);
    await expectSameBytesAsSingleRooms(me, '/api/chat-rooms?limit=30&offset=20', 30);
    await expectSameBytesAsSingleRooms(me, '/api/group-rooms?limit=100', 60);
  }, 120_000);
});
