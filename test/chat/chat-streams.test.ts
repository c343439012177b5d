import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { addMember, createGroup, eventually, makeUsers, send } from '../helpers/rooms.ts';
import { connectSse, openSse, type SseClient, type SseEvent } from '../helpers/sse.ts';
import type { TestUser } from '../helpers/users.ts';
import { befriend } from '../presence/support.ts';

/**
 * The SSE fallback of chat (contract: Events and recovery) over two instances on real ports:
 * the per-room stream and the per-user stream carry the WebSocket frames, and resume through
 * Last-Event-ID with nothing lost and nothing twice.
 */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
const open: SseClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});
afterAll(async () => {
  await Promise.all([a?.app.close(), b?.app.close()]);
});

async function stream(server: { baseUrl: string }, path: string, user: TestUser, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await connectSse(`${server.baseUrl}${path}`, { headers: { ...user.auth, ...headers } });
  open.push(client);
  return client;
}

async function room(count: number) {
  const users = await makeUsers(a.app, count, 'sse');
  const [owner, ...others] = users as [TestUser, ...TestUser[]];
  const created = await createGroup(a.app, owner, { member_ids: others.map((u) => u.id) });
  return { owner, others, roomId: created.id };
}

const messageId = (event: SseEvent) => (JSON.parse(event.data) as { message: { id: string } }).message.id;
const isMessage = (id: string) => (event: SseEvent) => event.event === 'message' && messageId(event) === id;

describe('GET /api/messages/stream/:room_id', () => {
  it('sends connected, joined, then the room events as frames with event ids, from the other instance', async () => {
    const { owner, others, roomId } = await room(2);
    const client = await stream(a, `/api/messages/stream/${roomId}`, others[0]!);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    await client.waitFor((e) => e.event === 'joined');
    expect(client.events[0]).toMatchObject({ event: 'connected' });
    expect(JSON.parse(client.events[1]!.data)).toMatchObject({ type: 'joined', room_id: roomId, recovered: false });

    const sent = await send(b.app, owner, roomId, '안녕 👋');
    const event = await client.waitFor(isMessage(sent.id), { timeoutMs: 2000 });
    const frame = JSON.parse(event.data) as { type: string; event_id: string; message: { content: string } };
    expect(frame).toMatchObject({ type: 'message', message: { content: '안녕 👋' } });
    expect(event.id).toBe(frame.event_id);
  });

  it('resumes after Last-Event-ID (or ?last_event_id=) on the other instance with exactly the missed events', async () => {
    const { owner, others, roomId } = await room(2);
    const reader = others[0]!;
    const first = await stream(a, `/api/messages/stream/${roomId}`, reader);
    await first.waitFor((e) => e.event === 'joined');
    const seen = await send(a.app, owner, roomId, 'seen');
    const last = await first.waitFor(isMessage(seen.id));
    first.close();

    const missed = [await send(b.app, owner, roomId, 'm1'), await send(a.app, owner, roomId, 'm2')];
    await a.app.inject({ method: 'PUT', url: `/api/messages/${roomId}/${missed[0]!.id}`, headers: owner.auth, payload: { content: 'm1 edited' } });

    const resumes: Record<string, string>[] = [{ 'last-event-id': last.id! }, {}];
    for (const resume of resumes) {
      const path = `/api/messages/stream/${roomId}${'last-event-id' in resume ? '' : `?last_event_id=${encodeURIComponent(last.id!)}`}`;
      const second = await stream(b, path, reader, resume);
      const joined = await second.waitFor((e) => e.event === 'joined');
      expect(JSON.parse(joined.data)).toMatchObject({ recovered: true });
      const replayed = second.events.filter((e) => e.event.startsWith('message'));
      expect(replayed.map((e) => e.event)).toEqual(['message', 'message', 'message_updated']);
      expect(replayed.slice(0, 2).map(messageId)).toEqual(missed.map((m) => m.id));
      second.close();
    }

    const stale = await stream(b, `/api/messages/stream/${roomId}`, reader, { 'last-event-id': 'nonsense' });
    await stale.waitFor((e) => e.event === 'joined');
    expect(stale.events.map((e) => e.event)).toEqual(['connected', 'reset', 'joined']);
  });

  it('refuses non-members (403), unknown rooms (404) and missing tokens (401) with JSON, before any stream', async () => {
    const { others, roomId } = await room(2);
    const [outsider] = await makeUsers(a.app, 1, 'sse');
    for (const [path, headers, status] of [
      [`/api/messages/stream/${roomId}`, outsider!.auth, 403],
      ['/api/messages/stream/2147483000', others[0]!.auth, 404],
      [`/api/messages/stream/${roomId}`, {}, 401],
      ['/api/messages/stream/abc', others[0]!.auth, 400],
    ] as const) {
      const refused = await openSse(`${a.baseUrl}${path}`, { headers: { ...headers } });
      expect('body' in refused && refused.status, path).toBe(status);
      if ('body' in refused) expect(JSON.parse(refused.body)).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
  });

  it('ends the stream when its user is removed from the room', async () => {
    const { owner, others, roomId } = await room(3);
    const client = await stream(a, `/api/messages/stream/${roomId}`, others[1]!);
    await client.waitFor((e) => e.event === 'joined');
    const res = await b.app.inject({ method: 'DELETE', url: `/api/group-rooms/${roomId}/members/${others[1]!.id}`, headers: owner.auth });
    expect(res.statusCode).toBe(204);
    await client.closed;
    expect(client.events.map((e) => e.event)).toContain('error');
  });
});

describe('GET /api/events/stream', () => {
  it('carries all my rooms, rooms I am added to while connected, and friends presence', async () => {
    const [me, friend, other] = await makeUsers(a.app, 3, 'usr');
    await befriend(a.app, me!.id, friend!.id);
    const first = await createGroup(a.app, friend!, { member_ids: [me!.id] });
    const client = await stream(a, '/api/events/stream', me!);
    const connected = await client.waitFor((e) => e.event === 'connected');
    expect(JSON.parse(connected.data)).toMatchObject({ room_ids: [first.id] });
    expect(connected.id).toEqual(expect.any(String));
    const snapshot = await client.waitFor((e) => e.event === 'presence_snapshot');
    expect(JSON.parse(snapshot.data)).toEqual({ type: 'presence_snapshot', friends: [{ user_id: friend!.id, is_online: true }] });

    const m1 = await send(b.app, friend!, first.id, 'in the first room');
    await client.waitFor(isMessage(m1.id), { timeoutMs: 2000 });

    // Added to a second room while connected: its events follow.
    const second = await createGroup(b.app, other!, {});
    await addMember(b.app, other!, second.id, me!);
    await client.waitFor((e) => e.event === 'room_updated' && (JSON.parse(e.data) as { room: { id: number } }).room.id === second.id, { timeoutMs: 2000 });
    const m2 = await send(b.app, other!, second.id, 'in the second room');
    const event = await client.waitFor(isMessage(m2.id), { timeoutMs: 2000 });
    expect(event.id).toEqual(expect.any(String));
    expect(event.id).not.toBe(connected.id);
  });

  it('resumes every room at once from its cursor: nothing lost, nothing twice', async () => {
    const [me, x, y] = await makeUsers(a.app, 3, 'usr');
    const roomX = await createGroup(a.app, x!, { member_ids: [me!.id] });
    const roomY = await createGroup(a.app, y!, { member_ids: [me!.id] });
    const first = await stream(a, '/api/events/stream', me!);
    await first.waitFor((e) => e.event === 'connected');
    const before = await send(a.app, x!, roomX.id, 'before');
    const last = await first.waitFor(isMessage(before.id));
    first.close();

    // While away: messages in both rooms, over both instances, some in the same millisecond.
    const missed = await Promise.all([
      send(a.app, x!, roomX.id, 'x1'),
      send(b.app, y!, roomY.id, 'y1'),
      send(b.app, x!, roomX.id, 'x2'),
      send(a.app, y!, roomY.id, 'y2'),
    ]);
    const second = await stream(b, '/api/events/stream', me!, { 'last-event-id': last.id! });
    await eventually(() => second.events.filter((e) => e.event === 'message').length >= missed.length, 3000);
    // Live after the replay.
    const live = await send(a.app, y!, roomY.id, 'live');
    await second.waitFor(isMessage(live.id), { timeoutMs: 2000 });
    const received = second.events.filter((e) => e.event === 'message').map(messageId);
    expect([...received].sort()).toEqual([...missed.map((m) => m.id), live.id].sort());
    expect(received.at(-1)).toBe(live.id);
    expect(JSON.parse(second.events[0]!.data)).toMatchObject({ recovered: true });

    // A cursor this server never issued: every room starts over.
    const forged = await stream(a, '/api/events/stream', me!, { 'last-event-id': 'forged' });
    await forged.waitFor((e) => e.event === 'presence_snapshot');
    expect(forged.dataOf<{ room_id: number }>('reset').map((r) => r.room_id).sort()).toEqual([roomX.id, roomY.id].sort());
  });
});
