import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { roomEventsKey } from '../../src/plugins/event-history.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { createGroup, makeUsers, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';

/**
 * Lossless reconnect (contract: Events and recovery) over two instances on real ports: a client
 * that drops off one instance and joins on the other with `since` gets exactly the events it
 * missed, in order, then `joined` with `recovered: true`, then live events.
 */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
const clients: WsClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ EVENT_HISTORY_SIZE: '300' }), startTestServer({ EVENT_HISTORY_SIZE: '300' })]);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([a?.app.close(), b?.app.close()]);
});

async function connect(server: { baseUrl: string }, user: TestUser): Promise<WsClient> {
  const client = await WsClient.connect(server.baseUrl, user.token);
  clients.push(client);
  return client;
}

async function room(count: number) {
  const users = await makeUsers(a.app, count, 'rec');
  const [owner, ...others] = users as [TestUser, ...TestUser[]];
  const created = await createGroup(a.app, owner, { member_ids: others.map((u) => u.id) });
  return { owner, others, roomId: created.id };
}

/** Frames up to and including `joined` for the room, after a join with `since`. */
async function rejoin(client: WsClient, roomId: number, since: string | undefined): Promise<{ before: Frame[]; joined: Frame }> {
  client.send({ type: 'join', room_id: roomId, ...(since === undefined ? {} : { since }) });
  const joined = await client.next((f) => f.type === 'joined' && f.room_id === roomId, 5000);
  // Notifications (of rooms the socket is not in) are not room events: left out here.
  const before = client.frames.splice(0, client.frames.length).filter((f) => !f.type.startsWith('notification'));
  return { before, joined };
}

describe('event ids', () => {
  it('every room event frame carries an event_id, increasing within the room; typing has none', async () => {
    const { owner, others, roomId } = await room(2);
    const watcher = await connect(a, others[0]!);
    await rejoin(watcher, roomId, undefined);
    const sender = await connect(b, owner);
    await rejoin(sender, roomId, undefined);
    await watcher.next((f) => f.type === 'system' && f.event === 'USER_CONNECTED');
    const message = await send(b.app, owner, roomId, 'first');
    await b.app.inject({ method: 'PUT', url: `/api/messages/${roomId}/${message.id}`, headers: owner.auth, payload: { content: 'edited' } });
    await b.app.inject({ method: 'POST', url: `/api/messages/${roomId}/${message.id}/reactions`, headers: owner.auth, payload: { reaction: 'like' } });
    await b.app.inject({ method: 'POST', url: `/api/messages/${roomId}/read`, headers: owner.auth, payload: { message_id: message.id } });
    sender.send({ type: 'typing', room_id: roomId, is_typing: true });
    await b.app.inject({ method: 'PATCH', url: `/api/group-rooms/${roomId}`, headers: owner.auth, payload: { name: 'renamed' } });
    const renamed = await watcher.ofType('room_updated');
    const frames = [...watcher.frames, renamed];
    const typing = frames.find((f) => f.type === 'system' && f.event === 'TYPING');
    expect(typing).toBeDefined();
    expect(typing).not.toHaveProperty('event_id');
    const roomEvents = frames.filter((f) => ['message', 'message_updated', 'reaction', 'read_receipt', 'room_updated'].includes(f.type));
    expect(roomEvents.map((f) => f.type)).toEqual(['message', 'message_updated', 'reaction', 'read_receipt', 'room_updated']);
    const ids = roomEvents.map((f) => f.event_id as string);
    for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('join with since', () => {
  it('replays exactly the missed events, in order, on another instance, then goes live', async () => {
    const { owner, others, roomId } = await room(2);
    const reader = others[0]!;
    const first = await connect(a, reader);
    await rejoin(first, roomId, undefined);
    const seen = await send(a.app, owner, roomId, 'seen');
    const seenFrame = await first.next((f) => f.type === 'message' && (f.message as { id: string }).id === seen.id);
    first.close();
    await first.closed;

    // While away (the case): 5 messages, 1 edit, 1 reaction, 1 read receipt, over both instances.
    const missed: MessageView[] = [];
    for (let i = 1; i <= 5; i += 1) missed.push(await send(i % 2 ? a.app : b.app, owner, roomId, `m${i}`));
    await b.app.inject({ method: 'PUT', url: `/api/messages/${roomId}/${missed[0]!.id}`, headers: owner.auth, payload: { content: 'm1 edited' } });
    await b.app.inject({ method: 'POST', url: `/api/messages/${roomId}/${missed[2]!.id}/reactions`, headers: owner.auth, payload: { reaction: 'love' } });
    await a.app.inject({ method: 'POST', url: `/api/messages/${roomId}/read`, headers: owner.auth, payload: { message_id: missed[4]!.id } });

    const second = await connect(b, reader);
    const { before, joined } = await rejoin(second, roomId, seenFrame.event_id as string);
    expect(joined).toMatchObject({ recovered: true });
    // Exactly those 8 events, in order (the reader's own USER_CONNECTED is never sent to it).
    expect(before.map((f) => f.type)).toEqual(['message', 'message', 'message', 'message', 'message', 'message_updated', 'reaction', 'read_receipt']);
    expect(before.slice(0, 5).map((f) => (f.message as { content: string }).content)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    const ids = before.map((f) => f.event_id as string);
    expect([...ids].sort(compare)).toEqual(ids);
    expect(new Set(ids).size).toBe(8);

    // A deletion is replayed too.
    second.send({ type: 'leave', room_id: roomId });
    await a.app.inject({ method: 'DELETE', url: `/api/messages/${roomId}/${missed[1]!.id}`, headers: owner.auth });
    const again = await rejoin(second, roomId, ids.at(-1));
    expect(again.before.map((f) => f.type)).toEqual(['message_deleted']);

    // Then live.
    const live = await send(a.app, owner, roomId, 'live');
    expect(await second.next((f) => f.type === 'message' && (f.message as { id: string }).id === live.id)).toMatchObject({ event_id: expect.any(String) });
  });

  it('loses and duplicates nothing when events keep arriving during the rejoin', async () => {
    const { owner, others, roomId } = await room(2);
    const reader = others[0]!;
    const first = await connect(a, reader);
    await rejoin(first, roomId, undefined);
    const anchor = await send(a.app, owner, roomId, 'anchor');
    const anchorFrame = await first.next((f) => f.type === 'message' && (f.message as { id: string }).id === anchor.id);
    first.close();
    await first.closed;

    let sending = true;
    const sent: string[] = [];
    const writer = (async () => {
      for (let i = 0; sending && i < 400; i += 1) sent.push((await send(i % 2 ? a.app : b.app, owner, roomId, `burst ${i}`)).id);
    })();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await connect(b, reader);
    const { before, joined } = await rejoin(second, roomId, anchorFrame.event_id as string);
    expect(joined).toMatchObject({ recovered: true });
    await new Promise((resolve) => setTimeout(resolve, 150));
    sending = false;
    await writer;
    const last = sent.at(-1)!;
    await second.next((f) => f.type === 'message' && (f.message as { id: string }).id === last, 5000);

    const received = [...before, ...second.frames].filter((f) => f.type === 'message').map((f) => (f.message as { id: string }).id);
    // next() removed the last one from frames: put it back for the comparison.
    received.push(last);
    expect(received).toEqual(sent);
  });

  it('answers reset when since is older than what is kept, unknown, or the history is gone', async () => {
    const { owner, others, roomId } = await room(2);
    const reader = others[0]!;
    const client = await connect(a, reader);
    await rejoin(client, roomId, undefined);
    const old = await send(a.app, owner, roomId, 'old');
    const oldFrame = await client.next((f) => f.type === 'message' && (f.message as { id: string }).id === old.id);
    client.send({ type: 'leave', room_id: roomId });

    // Far past EVENT_HISTORY_SIZE (300): the events right after `since` are trimmed.
    for (let batch = 0; batch < 9; batch += 1) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => send(i % 2 ? a.app : b.app, owner, roomId, `flood ${batch}.${i}`)));
    }
    const trimmed = await rejoin(client, roomId, oldFrame.event_id as string);
    expect(trimmed.before.map((f) => f.type)).toEqual(['reset']);
    expect(trimmed.joined).toMatchObject({ recovered: false });
    client.send({ type: 'leave', room_id: roomId });

    for (const since of ['garbage', '99999999999999-0']) {
      const bogus = await rejoin(client, roomId, since);
      expect(bogus.before.map((f) => f.type), since).toEqual(['reset']);
      expect(bogus.joined).toMatchObject({ recovered: false });
      client.send({ type: 'leave', room_id: roomId });
    }

    // Redis lost the room's history (restart, eviction): a cursor of the old stream is not trusted.
    const recent = await send(a.app, owner, roomId, 'recent');
    const recentId = await eventIdOf(a, roomId, recent.id);
    await a.app.redis.del(roomEventsKey(roomId));
    await send(a.app, owner, roomId, 'after the loss');
    const lost = await rejoin(client, roomId, recentId);
    expect(lost.before.map((f) => f.type)).toEqual(['reset']);
    expect(lost.joined).toMatchObject({ recovered: false });
  });

  it('refuses a malformed since in the frame with BAD_REQUEST and keeps the socket', async () => {
    const { others, roomId } = await room(2);
    const client = await connect(a, others[0]!);
    client.send({ type: 'join', room_id: roomId, since: 'x'.repeat(100) });
    expect(await client.ofType('error')).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'join', room_id: roomId, since: 42 });
    expect(await client.ofType('error')).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await rejoin(client, roomId, undefined)).joined).toMatchObject({ recovered: false });
  });
});

function compare(x: string, y: string): number {
  const [xm, xs] = x.split('-').map(Number) as [number, number];
  const [ym, ys] = y.split('-').map(Number) as [number, number];
  return xm - ym || xs - ys;
}

/** The event id of a message's `message_created` event, read from the room's history in Redis. */
async function eventIdOf(server: { app: App }, roomId: number, messageId: string): Promise<string> {
  const entries = (await server.app.redis.xrange(roomEventsKey(roomId), '-', '+')) as [string, string[]][];
  const entry = entries.find(([, fields]) => {
    const event = JSON.parse(fields[1]!) as { type: string; message?: { id: string } };
    return event.type === 'message_created' && event.message?.id === messageId;
  });
  if (!entry) throw new Error(`no history entry for message ${messageId}`);
  return entry[0];
}
