import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/** Two instances on real ports sharing MariaDB and Redis: A and B. */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
const clients: WsClient[] = [];

beforeAll(async () => {
  a = await startTestServer({ ROOM_IDLE_TIMEOUT_S: '2' });
  b = await startTestServer({ ROOM_IDLE_TIMEOUT_S: '2' });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await a.app.close();
  await b.app.close();
});

async function connect(server: { baseUrl: string }, user: TestUser, path?: string): Promise<WsClient> {
  const client = await WsClient.connect(server.baseUrl, user.token, path);
  clients.push(client);
  return client;
}

/** A group room of `owner` + members, each member connected and joined on the given server. */
async function liveRoom(count: number) {
  const users = await makeUsers(a.app, count, 'ws');
  const [owner, ...others] = users as [TestUser, ...TestUser[]];
  const room = await createGroup(a.app, owner, { member_ids: others.map((u) => u.id) });
  return { users, owner, others, room };
}

async function joined(client: WsClient, roomId: number) {
  client.send({ type: 'join', room_id: roomId });
  return client.next((f) => f.type === 'joined' && f.room_id === roomId);
}

describe('connecting', () => {
  it('refuses an upgrade without a valid token with 401 and the JSON error body, before any socket', async () => {
    for (const url of [`${a.baseUrl}/ws/chat`, `${a.baseUrl}/ws/chat?token=forged.token.value`]) {
      const refused = await WsClient.refused(url);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ error: 'invalid_token', message: expect.any(String) });
    }
  });

  it('answers ping with pong and keeps the connection after a bad frame', async () => {
    const [user] = await makeUsers(a.app, 1, 'ws');
    const client = await connect(a, user!);
    client.send('not json');
    expect(await client.ofType('error')).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'message', room_id: 'x' });
    expect(await client.ofType('error')).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('room_id') });
    client.send({ type: 'dance' });
    expect(await client.ofType('error')).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'ping' });
    expect(await client.ofType('pong')).toEqual({ type: 'pong' });
  });

  it('closes the socket with 1009 when a frame is over the size limit', async () => {
    const [user] = await makeUsers(a.app, 1, 'ws');
    const client = await connect(a, user!);
    client.send({ type: 'ping', pad: 'x'.repeat(128 * 1024) });
    expect((await client.closed).code).toBe(1009);
  });

  it('answers a flood of frames with RATE_LIMITED', async () => {
    const [user] = await makeUsers(a.app, 1, 'ws');
    const client = await connect(a, user!);
    for (let i = 0; i < 80; i += 1) client.send({ type: 'ping' });
    expect(await client.next((f) => f.type === 'error' && f.code === 'RATE_LIMITED')).toBeDefined();
  });

  it('/ws/chat/:room_id joins the room straight away', async () => {
    const { owner, room } = await liveRoom(2);
    const client = await connect(b, owner, `/ws/chat/${room.id}`);
    expect(await client.ofType('joined')).toMatchObject({ room_id: room.id, online_user_ids: [owner.id] });
  });
});

describe('across two instances', () => {
  it('delivers a message sent on A to members on B, acks the sender with its temp_id, and dedupes a retried temp_id', async () => {
    const { owner, others, room } = await liveRoom(3);
    const alice = await connect(a, owner);
    const bob = await connect(b, others[0]!);
    const bobOnA = await connect(a, others[0]!);
    await joined(alice, room.id);
    await joined(bob, room.id);
    await joined(bobOnA, room.id);

    const sentAt = Date.now();
    alice.send({ type: 'message', room_id: room.id, content: '안녕하세요 👋', temp_id: 'tmp-1' });
    const ack = await alice.ofType('ack');
    expect(ack).toMatchObject({ temp_id: 'tmp-1', message: { room_id: room.id, user_id: owner.id, content: '안녕하세요 👋', client_message_id: 'tmp-1' } });
    const delivered = await bob.ofType('message');
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(delivered).toMatchObject({ message: { id: (ack.message as { id: string }).id } });
    expect((await bobOnA.ofType('message')).message).toEqual(delivered.message);

    alice.send({ type: 'message', room_id: room.id, content: '안녕하세요 👋', temp_id: 'tmp-1' });
    const retry = await alice.ofType('ack');
    expect((retry.message as { id: string }).id).toBe((ack.message as { id: string }).id);
    expect(await bob.none((f) => f.type === 'message')).toBe(true);
    const history = await b.app.inject({ url: `/api/messages/${room.id}`, headers: others[0]!.auth });
    expect(history.json().messages.filter((m: { client_message_id: string }) => m.client_message_id === 'tmp-1')).toHaveLength(1);
  });

  it('sends a room event to every socket as a text frame of the same JSON, live and replayed alike', async () => {
    const { owner, others, room } = await liveRoom(3);
    const alice = await connect(a, owner);
    const receivers = [await connect(a, others[0]!), await connect(a, others[1]!), await connect(b, others[1]!)];
    const raw = receivers.map((client) => {
      const texts: { text: string; isBinary: boolean }[] = [];
      client.socket.on('message', (data, isBinary) => texts.push({ text: data.toString(), isBinary }));
      return texts;
    });
    await joined(alice, room.id);
    for (const client of receivers) await joined(client, room.id);

    alice.send({ type: 'message', room_id: room.id, content: 'first', temp_id: 'shared-1' });
    const first = await receivers[0]!.next((f) => f.type === 'message' && (f.message as { content: string }).content === 'first');
    alice.send({ type: 'message', room_id: room.id, content: 'ünïcødé ✓ 👋', temp_id: 'shared-2' });
    for (const client of receivers) await client.next((f) => f.type === 'message' && (f.message as { content: string }).content === 'ünïcødé ✓ 👋');
    const live = raw.map((texts) => texts.find(({ text }) => text.includes('ünïcødé'))!);
    for (const frame of live) expect(frame.isBinary).toBe(false);
    expect(new Set(live.map(({ text }) => text)).size).toBe(1);

    const late = await connect(b, others[0]!);
    late.send({ type: 'join', room_id: room.id, since: first.event_id });
    const replayed = await late.next((f) => f.type === 'message');
    expect(JSON.stringify(replayed)).toBe(live[0]!.text);
  });

  it('announces a message stored without its event (its instance died) when the client resends it, and only once', async () => {
    const { owner, others, room } = await liveRoom(2);
    const bob = await connect(b, others[0]!);
    await joined(bob, room.id);
    // Stored, but the process died before publishing: only the store knows of it.
    const stored = await a.app.messageStore.create({
      roomId: room.id,
      userId: owner.id,
      content: 'lost in flight',
      messageType: 'text',
      attachmentUrl: null,
      replyTo: null,
      clientMessageId: 'tmp-crash',
    });
    const alice = await connect(a, owner);
    alice.send({ type: 'message', room_id: room.id, content: 'lost in flight', temp_id: 'tmp-crash' });
    expect(((await alice.ofType('ack')).message as { id: string }).id).toBe(stored.message.id);
    expect(((await bob.ofType('message')).message as { id: string }).id).toBe(stored.message.id);
    alice.send({ type: 'message', room_id: room.id, content: 'lost in flight', temp_id: 'tmp-crash' });
    await alice.ofType('ack');
    expect(await bob.none((f) => f.type === 'message')).toBe(true);
  });

  it('carries typing, read receipts, edits, deletes, reactions and room updates to the other instance', async () => {
    const { owner, others, room } = await liveRoom(2);
    const bobUser = others[0]!;
    const alice = await connect(a, owner);
    const bob = await connect(b, bobUser);
    await joined(alice, room.id);
    await joined(bob, room.id);
    expect(await alice.next((f) => f.type === 'system' && f.event === 'USER_CONNECTED' && f.user_id === bobUser.id)).toMatchObject({ room_id: room.id });

    bob.send({ type: 'typing', room_id: room.id, is_typing: true });
    expect(await alice.next((f) => f.type === 'system' && f.event === 'TYPING')).toMatchObject({ user_id: bobUser.id, is_typing: true, room_id: room.id, timestamp: expect.any(String) });

    alice.send({ type: 'message', room_id: room.id, content: 'read me', temp_id: 'tmp-read' });
    const message = (await alice.ofType('ack')).message as { id: string };
    await bob.ofType('message');

    bob.send({ type: 'read', room_id: room.id, message_id: message.id });
    expect(await alice.ofType('read_receipt')).toMatchObject({ room_id: room.id, user_id: bobUser.id, message_id: message.id, read_at: expect.any(String) });

    const edit = await b.app.inject({ method: 'PUT', url: `/api/messages/${room.id}/${message.id}`, headers: owner.auth, payload: { content: 'edited' } });
    expect(edit.statusCode).toBe(200);
    expect(await alice.ofType('message_updated')).toMatchObject({ message: { id: message.id, content: 'edited', is_edited: true } });
    expect(await bob.ofType('message_updated')).toMatchObject({ message: { id: message.id } });

    await b.app.inject({ method: 'POST', url: `/api/messages/${room.id}/${message.id}/reactions`, headers: bobUser.auth, payload: { reaction: 'like' } });
    expect(await alice.ofType('reaction')).toMatchObject({ message: { id: message.id, reactions: { like: [bobUser.id] } } });

    await a.app.inject({ method: 'PATCH', url: `/api/group-rooms/${room.id}`, headers: owner.auth, payload: { name: 'Renamed' } });
    expect(await bob.ofType('room_updated')).toMatchObject({ room: { id: room.id, name: 'Renamed' } });

    const del = await a.app.inject({ method: 'DELETE', url: `/api/messages/${room.id}/${message.id}`, headers: owner.auth });
    expect(del.statusCode).toBe(204);
    expect(await bob.ofType('message_deleted')).toMatchObject({ message: { id: message.id, is_deleted: true, content: null } });
  });

  it('refuses a non-member: join is UNAUTHORIZED, send is SEND_FAILED with the temp_id, and nothing is stored', async () => {
    const { room, owner } = await liveRoom(2);
    const [outsider] = await makeUsers(a.app, 1, 'ws');
    const client = await connect(b, outsider!);
    client.send({ type: 'join', room_id: room.id });
    expect(await client.ofType('error')).toMatchObject({ code: 'UNAUTHORIZED' });
    client.send({ type: 'message', room_id: room.id, content: 'let me in', temp_id: 'tmp-x' });
    expect(await client.ofType('error')).toMatchObject({ code: 'SEND_FAILED', temp_id: 'tmp-x' });
    client.send({ type: 'typing', room_id: room.id, is_typing: true });
    expect(await client.ofType('error')).toMatchObject({ code: 'UNAUTHORIZED' });
    const history = await a.app.inject({ url: `/api/messages/${room.id}`, headers: owner.auth });
    expect(history.json().messages).toHaveLength(0);
  });

  it('reports a failed send as SEND_FAILED with the temp_id', async () => {
    const { owner, room } = await liveRoom(2);
    const alice = await connect(a, owner);
    alice.send({ type: 'message', room_id: room.id, content: '   ', temp_id: 'tmp-empty' });
    expect(await alice.ofType('error')).toMatchObject({ code: 'SEND_FAILED', temp_id: 'tmp-empty' });
  });

  it('closes the socket with 4001 when its token is revoked on the other instance', async () => {
    const [user] = await makeUsers(a.app, 1, 'ws');
    const client = await connect(a, user!);
    const logout = await b.app.inject({ method: 'POST', url: '/api/auth/logout', headers: user!.auth });
    expect(logout.statusCode).toBe(204);
    expect((await client.closed).code).toBe(4001);
  });
});

describe('live room lifecycle', () => {
  it('is active while someone is connected, idle when the last one leaves, closed after the idle timeout', async () => {
    const { owner, room } = await liveRoom(2);
    const status = async () => (await b.app.inject({ url: `/api/ws/rooms/${room.id}/status`, headers: owner.auth })).json();
    expect(await status()).toEqual({ room_id: room.id, state: 'closed', online_user_ids: [] });
    const client = await connect(a, owner);
    await joined(client, room.id);
    expect(await status()).toEqual({ room_id: room.id, state: 'active', online_user_ids: [owner.id] });
    client.send({ type: 'leave', room_id: room.id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await status()).toMatchObject({ state: 'idle', online_user_ids: [] });
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect(await status()).toMatchObject({ state: 'closed' });
  });

  it('room status is 403 for non-members', async () => {
    const { room } = await liveRoom(2);
    const [outsider] = await makeUsers(a.app, 1, 'ws');
    expect((await a.app.inject({ url: `/api/ws/rooms/${room.id}/status`, headers: outsider!.auth })).statusCode).toBe(403);
  });
});

describe('tokens and presence', () => {
  it('closes the socket with 4001 when the token expires', async () => {
    const short = await startTestServer({ JWT_EXPIRES_IN: '2' });
    try {
      const [user] = await makeUsers(short.app, 1, 'ws');
      const client = await WsClient.connect(short.baseUrl, user!.token);
      const started = Date.now();
      expect((await client.closed).code).toBe(4001);
      expect(Date.now() - started).toBeLessThan(3500);
    } finally {
      await short.app.close();
    }
  });

  it('keeps its user online while the socket is open', async () => {
    const quick = await startTestServer({ PRESENCE_TTL_S: '2' });
    try {
      const [user] = await makeUsers(quick.app, 1, 'ws');
      const client = await WsClient.connect(quick.baseUrl, user!.token);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(await quick.app.redis.exists(`user:online:${user!.id}`)).toBe(1);
      client.close();
    } finally {
      await quick.app.close();
    }
  });
});
