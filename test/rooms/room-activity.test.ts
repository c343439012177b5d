import type { PoolConnection } from 'mariadb';
import { describe, expect, it } from 'vitest';
import { type App, useTwoTestApps } from '../helpers/app.ts';
import { createGroup, makeUsers, openDirect, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

/**
 * rooms.last_message_at is written after a send is answered (RoomActivityWriter). The room list
 * and the unread counts still put the room of a message just sent first: on the sending instance
 * they wait for its write, on another they see the message in the store.
 */
describe('room order right after a send (activity written after the answer)', () => {
  let a: App;
  let b: App;
  useTwoTestApps((first, second) => {
    a = first;
    b = second;
  });

  /** Holds a shared lock on a room row: the activity UPDATE waits for it, the message INSERT's foreign key check does not. */
  async function holdRoomRow(app: App, roomId: number): Promise<PoolConnection> {
    const connection = await app.mysqlPool.getConnection();
    await connection.beginTransaction();
    await connection.query('SELECT id FROM rooms WHERE id = ? LOCK IN SHARE MODE', [roomId]);
    return connection;
  }

  async function release(connection: PoolConnection): Promise<void> {
    await connection.rollback();
    connection.release();
  }

  const listIds = async (app: App, user: TestUser, query = '') =>
    ((await app.inject({ url: `/api/chat-rooms${query}`, headers: user.auth })).json() as { id: number }[]).map((room) => room.id);
  const unreadIds = async (app: App, user: TestUser) =>
    ((await app.inject({ url: '/api/chat-rooms/unread', headers: user.auth })).json() as { rooms: { room_id: number }[] }).rooms.map((room) => room.room_id);
  const lastMessageAt = async (roomId: number) => (await a.db.room.findUniqueOrThrow({ where: { id: roomId } })).lastMessageAt?.toISOString() ?? null;

  it('answers the send before the row is written; both instances list the room first at once', async () => {
    const [me, peer, friend] = await makeUsers(a, 3, 'activity');
    const quiet = await openDirect(a, me!, peer!);
    const busy = await createGroup(a, friend!, { member_ids: [me!.id] });
    await send(a, friend!, busy.id, 'earlier');
    await a.messages.service.settleActivity();
    expect(await listIds(b, me!)).toEqual([busy.id, quiet.id]);

    const lock = await holdRoomRow(a, quiet.id);
    let mine;
    try {
      // Answered while the activity UPDATE of its room cannot run.
      mine = await send(a, me!, quiet.id, 'while the row is held');
      expect(await lastMessageAt(quiet.id)).toBeNull();
      // The other instance has no write to wait for: it sees the message in the store.
      expect(await listIds(b, me!)).toEqual([quiet.id, busy.id]);
      expect(await listIds(b, me!, '?limit=2')).toEqual([quiet.id, busy.id]);
      expect(await unreadIds(b, peer!)).toEqual([quiet.id]);
    } finally {
      await release(lock);
    }
    // The sending instance waits for its own write, then reads the row.
    expect(await listIds(a, me!)).toEqual([quiet.id, busy.id]);
    expect(await lastMessageAt(quiet.id)).toBe(mine.created_at);
  });

  it('lists the room first on the sending instance even on a later page boundary (the read waits for the write)', async () => {
    const [me, ...peers] = await makeUsers(a, 4, 'activitypage');
    const rooms = [];
    for (const peer of peers) rooms.push(await openDirect(a, me!, peer));
    // The oldest room is last in the list; a page of one holds only the newest.
    expect(await listIds(a, me!, '?limit=1')).toEqual([rooms[2]!.id]);
    await send(a, peers[0]!, rooms[0]!.id, 'back to the top');
    expect(await listIds(a, me!, '?limit=1')).toEqual([rooms[0]!.id]);
    expect(await listIds(b, me!, '?limit=1')).toEqual([rooms[0]!.id]);
    expect(await unreadIds(a, me!)).toEqual([rooms[0]!.id]);
  });
});
