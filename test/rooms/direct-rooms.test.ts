import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/prisma.ts';
import { MessageService } from '../../src/modules/messages/message.service.ts';
import { MysqlMessageStore } from '../../src/modules/messages/store/mysql-message.store.ts';
import { MembershipCache } from '../../src/modules/rooms/membership.cache.ts';
import { RoomService } from '../../src/modules/rooms/room.service.ts';
import { RoomStore } from '../../src/modules/rooms/room.store.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { block, createGroup, eventually, makeUsers, openDirect, recordDomainEvents, send } from '../helpers/rooms.ts';
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

const openRequest = (target: App, auth: { authorization: string }, userId: unknown) =>
  target.inject({ method: 'POST', url: '/api/chat-rooms', headers: auth, payload: { user_id: userId } });

describe('POST /api/chat-rooms', () => {
  it('creates the direct room (201), then returns the same one from either side (200)', async () => {
    const [a, b] = await makeUsers(app, 2);
    const created = await openRequest(app, a!.auth, b!.id);
    expect(created.statusCode).toBe(201);
    const { room } = created.json();
    expect(room).toMatchObject({
      type: 'direct',
      name: null,
      description: null,
      is_private: false,
      created_by: a!.id,
      last_message: null,
      unread_count: 0,
    });
    expect(room.members.map((m: { user_id: number }) => m.user_id).sort()).toEqual([a!.id, b!.id].sort());
    expect(room.members[0]).toEqual({
      user_id: expect.any(Number),
      username: expect.any(String),
      display_name: null,
      nickname: null,
      role: 'member',
      joined_at: expect.stringMatching(/Z$/),
    });

    const again = await openRequest(app, a!.auth, b!.id);
    expect(again.statusCode).toBe(200);
    expect(again.json().room.id).toBe(room.id);
    const reverse = await openRequest(app, b!.auth, a!.id);
    expect(reverse.statusCode).toBe(200);
    expect(reverse.json().room.id).toBe(room.id);
  });

  it('creates exactly one room for a pair under concurrent requests from both sides and two instances', async () => {
    const [a, b] = await makeUsers(app, 2);
    const responses = await Promise.all(
      Array.from({ length: 16 }, (_, i) => openRequest(i % 2 ? app : other, (i % 4 < 2 ? a : b)!.auth, (i % 4 < 2 ? b : a)!.id)),
    );
    expect(responses.map((r) => r.statusCode).filter((s) => s !== 200 && s !== 201)).toEqual([]);
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(new Set(responses.map((r) => r.json().room.id)).size).toBe(1);
    const key = a!.id < b!.id ? `${a!.id}:${b!.id}` : `${b!.id}:${a!.id}`;
    expect(await app.db.room.count({ where: { directKey: key } })).toBe(1);
    expect(await app.db.roomMember.count({ where: { room: { directKey: key } } })).toBe(2);
  });

  it('refuses myself (400), unknown or inactive users (404) and bad ids (400)', async () => {
    const [a, gone] = await makeUsers(app, 2);
    await app.db.user.update({ where: { id: gone!.id }, data: { isActive: false } });
    expect((await openRequest(app, a!.auth, a!.id)).json()).toMatchObject({ error: 'validation_error' });
    expect((await openRequest(app, a!.auth, a!.id)).statusCode).toBe(400);
    const unknown = await openRequest(app, a!.auth, 2_000_000_000);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('not_found');
    expect((await openRequest(app, a!.auth, gone!.id)).statusCode).toBe(404);
    for (const bad of ['12', 0, -3, 1.5, null, 2 ** 31]) {
      const res = await openRequest(app, a!.auth, bad);
      expect(res.statusCode, String(bad)).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
    const noAuth = await app.inject({ method: 'POST', url: '/api/chat-rooms', payload: { user_id: a!.id } });
    expect(noAuth.statusCode).toBe(401);
  });

  it('refuses with 403 when either side blocked the other, even if the room exists', async () => {
    const [a, b, c] = await makeUsers(app, 3);
    await block(app, b!, a!);
    expect((await openRequest(app, a!.auth, b!.id)).statusCode).toBe(403);
    expect((await openRequest(app, b!.auth, a!.id)).json()).toMatchObject({ error: 'forbidden' });
    await openDirect(app, a!, c!);
    await block(app, a!, c!);
    expect((await openRequest(app, c!.auth, a!.id)).statusCode).toBe(403);
  });

  it('publishes room_changed "created" once', async () => {
    const [a, b] = await makeUsers(app, 2);
    const recorder = await recordDomainEvents(app);
    try {
      const room = await openDirect(app, a!, b!);
      await openDirect(app, b!, a!);
      await eventually(() => recorder.events.some((e) => e.type === 'room_changed' && e.room_id === room.id));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const mine = recorder.events.filter((e) => e.type === 'room_changed' && e.room_id === room.id);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ change: 'created', actor_id: a!.id, room: { id: room.id, type: 'direct' } });
      expect(mine[0]?.type === 'room_changed' && [...mine[0].member_ids].sort()).toEqual([a!.id, b!.id].sort());
    } finally {
      recorder.stop();
    }
  });
});

describe('GET /api/chat-rooms', () => {
  it('lists my direct and group rooms, newest activity first, with last message and unread count', async () => {
    const [me, b, c, outsider] = await makeUsers(app, 4);
    const direct = await openDirect(app, me!, b!);
    const group = await createGroup(app, c!, { member_ids: [me!.id] });
    const quiet = await openDirect(app, me!, c!);
    await createGroup(app, outsider!, {});

    // Activity: the direct room gets a message last, the group before it; `quiet` has none.
    await send(app, c!, group.id, 'group hello');
    await send(app, c!, group.id, 'group again');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const last = await send(app, b!, direct.id, 'direct hello');

    const res = await app.inject({ url: '/api/chat-rooms', headers: me!.auth });
    expect(res.statusCode).toBe(200);
    const rooms = res.json() as { id: number; last_message: { id: string } | null; unread_count: number }[];
    expect(rooms.map((r) => r.id)).toEqual([direct.id, group.id, quiet.id]);
    expect(rooms[0]).toMatchObject({ last_message: { id: last.id, content: 'direct hello' }, unread_count: 1 });
    expect(rooms[1]).toMatchObject({ last_message: { content: 'group again' }, unread_count: 2 });
    expect(rooms[2]).toMatchObject({ last_message: null, unread_count: 0 });

    // My own messages are never unread for me; the room moves to the top.
    await send(app, me!, quiet.id, 'mine');
    const after = (await app.inject({ url: '/api/chat-rooms', headers: me!.auth })).json();
    expect(after[0]).toMatchObject({ id: quiet.id, unread_count: 0, last_message: { content: 'mine' } });

    const page = await app.inject({ url: '/api/chat-rooms?limit=2&offset=1', headers: me!.auth });
    expect(page.json().map((r: { id: number }) => r.id)).toEqual([direct.id, group.id]);
    expect((await app.inject({ url: '/api/chat-rooms?limit=101', headers: me!.auth })).statusCode).toBe(400);
  });

  it('uses a constant number of queries and one message-store call however many rooms there are', async () => {
    let operations = 0;
    const counted = app.db.$extends({
      query: {
        async $allOperations({ args, query }) {
          operations += 1;
          return query(args);
        },
      },
    }) as unknown as Db;
    const messageStore = new MysqlMessageStore(counted, app.mysqlPool);
    let summarizeCalls = 0;
    const summarize = messageStore.summarize.bind(messageStore);
    messageStore.summarize = (queries) => {
      summarizeCalls += 1;
      return summarize(queries);
    };
    const service = new RoomService(new RoomStore(counted, app.mysqlPool), app.users, app.relationships, app.events, app.log, new MembershipCache());
    service.attachMessages(new MessageService(messageStore, service, app.relationships, app.messages.cache, app.events, app.log, app.attachments.service));

    async function operationsToList(roomCount: number): Promise<number> {
      const [me, ...peers] = await makeUsers(app, roomCount + 1);
      for (const peer of peers) await send(app, peer, (await openDirect(app, me!, peer)).id, 'hi');
      operations = 0;
      summarizeCalls = 0;
      const rooms = await service.listMine(me!.id, undefined, { limit: 50, offset: 0 });
      expect(rooms).toHaveLength(roomCount);
      expect(rooms.every((room) => room.unread_count === 1 && room.last_message?.content === 'hi')).toBe(true);
      expect(summarizeCalls).toBe(1);
      return operations;
    }
    const few = await operationsToList(2);
    const many = await operationsToList(9);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(6);
  });
});

describe('GET /api/chat-rooms/:room_id', () => {
  it('shows a room to its members and 404 to everyone else', async () => {
    const [a, b, c] = await makeUsers(app, 3);
    const room = await openDirect(app, a!, b!);
    const mine = await app.inject({ url: `/api/chat-rooms/${room.id}`, headers: b!.auth });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().room.id).toBe(room.id);
    const stranger = await app.inject({ url: `/api/chat-rooms/${room.id}`, headers: c!.auth });
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toMatchObject({ error: 'not_found' });
    expect((await app.inject({ url: '/api/chat-rooms/999999999', headers: a!.auth })).statusCode).toBe(404);
  });

  it('answers non-numeric or out-of-range room ids with 400, never 500', async () => {
    const user = await createUser(app);
    for (const bad of ['abc', '1.5', '-1', '0', '99999999999', '1e3x']) {
      const res = await app.inject({ url: `/api/chat-rooms/${bad}`, headers: user.auth });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
  });
});
