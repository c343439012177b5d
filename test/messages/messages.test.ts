import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { type App, createTestApp, testConfig } from '../helpers/app.ts';
import { addMember, block, createGroup, eventually, makeUsers, openDirect, recordDomainEvents, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

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

const post = (user: TestUser, url: string, payload: unknown, target: App = app) =>
  target.inject({ method: 'POST', url, headers: user.auth, payload: payload as object });
const put = (user: TestUser, url: string, payload: unknown) => app.inject({ method: 'PUT', url, headers: user.auth, payload: payload as object });
const del = (user: TestUser, url: string) => app.inject({ method: 'DELETE', url, headers: user.auth });
const get = (user: TestUser, url: string) => app.inject({ url, headers: user.auth });

/** owner, admin, member of a group room, and an outsider. */
async function groupOf() {
  const [owner, admin, member, outsider] = await makeUsers(app, 4, 'msg');
  const room = await createGroup(app, owner!, { member_ids: [member!.id] });
  await addMember(app, owner!, room.id, admin!, 'admin');
  return { owner: owner!, admin: admin!, member: member!, outsider: outsider!, roomId: room.id };
}

describe('POST /api/messages/:room_id', () => {
  it('sends a message (201) with the contract fields, byte for byte', async () => {
    const { member, roomId } = await groupOf();
    const content = '안녕하세요! 회의는 3시 🙌🏽 — “ok”';
    const res = await post(member, `/api/messages/${roomId}`, { content });
    expect(res.statusCode).toBe(201);
    const { message } = res.json();
    expect(message).toEqual({
      id: expect.any(String),
      room_id: roomId,
      seq: 1,
      user_id: member.id,
      content,
      message_type: 'text',
      attachment_url: null,
      attachment: null,
      reply_to: null,
      is_edited: false,
      edited_at: null,
      is_deleted: false,
      reactions: {},
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      client_message_id: null,
      version: 1,
    });
    const raw = await app.db.chatMessage.findFirstOrThrow({ where: { roomId } });
    expect(Buffer.from(raw.content ?? '', 'utf8').equals(Buffer.from(content, 'utf8'))).toBe(true);
  });

  it('validates content by message type', async () => {
    const { member, roomId } = await groupOf();
    const url = `/api/messages/${roomId}`;
    const ok = async (body: object) => expect((await post(member, url, body)).statusCode, JSON.stringify(body)).toBe(201);
    const bad = async (body: object) => {
      const res = await post(member, url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toBe('validation_error');
    };
    await ok({ content: '  trimmed  ' });
    await ok({ content: 'x'.repeat(4000) });
    await ok({ content: '😀'.repeat(4000) });
    await ok({ message_type: 'image', attachment_url: '/uploads/cat.png' });
    await ok({ message_type: 'file', attachment_url: 'https://cdn.example.com/a.pdf', content: 'the report' });
    await ok({ message_type: 'sticker', content: 'sticker:wave' });
    await ok({ message_type: 'sticker', attachment_url: '/uploads/sticker.webp' });
    await bad({});
    await bad({ content: '' });
    await bad({ content: ' \n\t ' });
    await bad({ content: 'x'.repeat(4001) });
    await bad({ content: '😀'.repeat(4001) });
    await bad({ content: 42 });
    await bad({ message_type: 'image' });
    await bad({ message_type: 'file', content: 'no file' });
    await bad({ message_type: 'sticker' });
    await bad({ message_type: 'system', content: 'I am the server' });
    await bad({ message_type: 'video', content: 'x' });
    await bad({ content: 'x', attachment_url: 'javascript:alert(1)' });
    // Without an attachment, only https: or this server's own upload and attachment URLs.
    await ok({ message_type: 'image', attachment_url: `/api/attachments/${'a'.repeat(32)}/thumbnail?u=1&exp=2&sig=x-y_z` });
    for (const url of [
      'http://cdn.example.com/a.png',
      'data:image/png;base64,AAAA',
      '//evil.example.com/a.png',
      '/etc/passwd',
      '/uploads/../../etc/passwd',
      '/uploads/a/../b.png',
      '/api/attachments/nope',
      'https://user:pw@cdn.example.com/a.png',
      'https://cdn.example.com/a b.png',
      'ftp://cdn.example.com/a.png',
    ]) {
      await bad({ message_type: 'image', attachment_url: url });
    }
    await bad({ content: 'x', client_message_id: '' });
    await bad({ content: 'x', unexpected: true });
    const stored = await get(member, `/api/messages/${roomId}?limit=100`);
    expect(stored.json().messages.find((m: MessageView) => m.content === 'trimmed')).toBeDefined();
  });

  it('is for members only: 403 for non-members, 404 for unknown rooms, 400 for bad ids', async () => {
    const { outsider, roomId } = await groupOf();
    const res = await post(outsider, `/api/messages/${roomId}`, { content: 'let me in' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('forbidden');
    expect((await post(outsider, '/api/messages/999999999', { content: 'x' })).statusCode).toBe(404);
    for (const bad of ['abc', '0', '-5', '1.5', '3000000000']) {
      const r = await post(outsider, `/api/messages/${bad}`, { content: 'x' });
      expect(r.statusCode, bad).toBe(400);
    }
    expect((await app.inject({ method: 'POST', url: `/api/messages/${roomId}`, payload: { content: 'x' } })).statusCode).toBe(401);
  });

  it('refuses messages in a direct room when either side blocked the other (403)', async () => {
    const [a, b, c] = await makeUsers(app, 3, 'msg');
    const room = await openDirect(app, a!, b!);
    await send(app, a!, room.id, 'before the block');
    await block(app, b!, a!);
    expect((await post(a!, `/api/messages/${room.id}`, { content: 'hello?' })).statusCode).toBe(403);
    expect((await post(b!, `/api/messages/${room.id}`, { content: 'no' })).statusCode).toBe(403);
    // History stays readable, and group rooms are unaffected by blocks between members.
    expect((await get(a!, `/api/messages/${room.id}`)).statusCode).toBe(200);
    const group = await createGroup(app, c!, { member_ids: [a!.id, b!.id] });
    expect((await post(a!, `/api/messages/${group.id}`, { content: 'group is fine' })).statusCode).toBe(201);
  });

  it('accepts reply_to only for a message of the same room', async () => {
    const { member, owner, roomId } = await groupOf();
    const elsewhere = await createGroup(app, member);
    const there = await send(app, member, elsewhere.id, 'other room');
    const here = await send(app, owner, roomId, 'question?');
    const reply = await post(member, `/api/messages/${roomId}`, { content: 'answer', reply_to: here.id });
    expect(reply.statusCode).toBe(201);
    expect(reply.json().message.reply_to).toBe(here.id);
    for (const replyTo of [there.id, 'not-an-id', '999999999']) {
      const res = await post(member, `/api/messages/${roomId}`, { content: 'answer', reply_to: replyTo });
      expect(res.statusCode, replyTo).toBe(400);
    }
  });

  it('is idempotent on client_message_id: the first message again (200), never a second one', async () => {
    const { member, owner, roomId } = await groupOf();
    const url = `/api/messages/${roomId}`;
    const first = await post(member, url, { content: 'once', client_message_id: 'tmp-1' });
    expect(first.statusCode).toBe(201);
    const again = await post(member, url, { content: 'once (retry)', client_message_id: 'tmp-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json().message).toEqual(first.json().message);
    expect(first.json().message.client_message_id).toBe('tmp-1');
    // Another sender may use the same temporary id.
    expect((await post(owner, url, { content: 'mine', client_message_id: 'tmp-1' })).statusCode).toBe(201);
    expect(await app.db.chatMessage.count({ where: { roomId, clientMessageId: 'tmp-1' } })).toBe(2);
  });

  it('stays idempotent under concurrent identical requests on two instances', async () => {
    const { member, roomId } = await groupOf();
    const recorder = await recordDomainEvents(app);
    try {
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          post(member, `/api/messages/${roomId}`, { content: 'race', client_message_id: 'same' }, i % 2 ? app : other),
        ),
      );
      expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
      expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(11);
      expect(new Set(responses.map((r) => r.json().message.id)).size).toBe(1);
      expect(await app.db.chatMessage.count({ where: { roomId } })).toBe(1);
      const page = await get(member, `/api/messages/${roomId}`);
      expect(page.json().messages).toHaveLength(1);
      await eventually(() => recorder.events.some((e) => e.type === 'message_created' && e.room_id === roomId));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(recorder.events.filter((e) => e.type === 'message_created' && e.room_id === roomId)).toHaveLength(1);
    } finally {
      recorder.stop();
    }
  });

  it('moves rooms.last_message_at forward after the send is answered', async () => {
    const { member, roomId } = await groupOf();
    expect((await app.db.room.findUniqueOrThrow({ where: { id: roomId } })).lastMessageAt).toBeNull();
    const message = await send(app, member, roomId, 'tick');
    await app.messages.service.settleActivity();
    const room = await app.db.room.findUniqueOrThrow({ where: { id: roomId } });
    expect(room.lastMessageAt?.toISOString()).toBe(message.created_at);
  });

  it('leaves rooms.last_message_at at the newest of a burst of concurrent sends (one UPDATE in flight per process)', async () => {
    const { member, owner, roomId } = await groupOf();
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => send(app, i % 2 ? owner : member, roomId, `burst ${i}`)));
    const newest = sent.map((m) => m.created_at).sort().at(-1);
    await app.messages.service.settleActivity();
    const room = await app.db.room.findUniqueOrThrow({ where: { id: roomId } });
    expect(room.lastMessageAt?.toISOString()).toBe(newest);
  });
});

describe('GET /api/messages/:room_id', () => {
  it('pages newest first with an opaque cursor', async () => {
    const { member, owner, roomId } = await groupOf();
    for (let i = 0; i < 7; i += 1) await send(app, i % 2 ? owner : member, roomId, `m${i}`);
    const first = await get(member, `/api/messages/${roomId}?limit=3`);
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body.messages.map((m: MessageView) => m.content)).toEqual(['m6', 'm5', 'm4']);
    expect(body.has_more).toBe(true);
    expect(body.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = (await get(member, `/api/messages/${roomId}?limit=3&before=${body.next_cursor}`)).json();
    expect(second.messages.map((m: MessageView) => m.content)).toEqual(['m3', 'm2', 'm1']);
    const third = (await get(member, `/api/messages/${roomId}?limit=3&before=${second.next_cursor}`)).json();
    expect(third).toMatchObject({ has_more: false, next_cursor: null });
    expect(third.messages.map((m: MessageView) => m.content)).toEqual(['m0']);
    const all = (await get(member, `/api/messages/${roomId}`)).json();
    expect(all.messages).toHaveLength(7);
    expect(all).toMatchObject({ has_more: false, next_cursor: null });
  });

  it('refuses garbage cursors and limits out of range with 400 validation_error', async () => {
    const { member, roomId } = await groupOf();
    await send(app, member, roomId, 'x');
    for (const query of ['before=garbage!', 'before=e30', 'before=%00', `before=${'a'.repeat(401)}`, 'limit=0', 'limit=101', 'limit=abc']) {
      const res = await get(member, `/api/messages/${roomId}?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
  });

  it('is for members only', async () => {
    const { outsider, roomId } = await groupOf();
    expect((await get(outsider, `/api/messages/${roomId}`)).statusCode).toBe(403);
    expect((await get(outsider, '/api/messages/999999998')).statusCode).toBe(404);
    expect((await get(outsider, '/api/messages/abc')).statusCode).toBe(400);
  });
});

describe('PUT /api/messages/:room_id/:message_id', () => {
  it('lets the author edit (200); others get 403, deleted messages 409, unknown ids 404', async () => {
    const { owner, member, roomId } = await groupOf();
    const message = await send(app, member, roomId, 'tpyo');
    const res = await put(member, `/api/messages/${roomId}/${message.id}`, { content: ' typo fixed ' });
    expect(res.statusCode).toBe(200);
    expect(res.json().message).toMatchObject({ id: message.id, content: 'typo fixed', is_edited: true, created_at: message.created_at });
    expect(res.json().message.edited_at).toMatch(/Z$/);
    expect((await put(owner, `/api/messages/${roomId}/${message.id}`, { content: 'owner edit' })).statusCode).toBe(403);
    expect((await put(member, `/api/messages/${roomId}/${message.id}`, { content: '   ' })).statusCode).toBe(400);
    expect((await put(member, `/api/messages/${roomId}/${message.id}`, { content: 'x'.repeat(4001) })).statusCode).toBe(400);

    expect((await del(member, `/api/messages/${roomId}/${message.id}`)).statusCode).toBe(204);
    const edited = await put(member, `/api/messages/${roomId}/${message.id}`, { content: 'again' });
    expect(edited.statusCode).toBe(409);
    expect(edited.json().error).toBe('conflict');

    for (const id of ['999999999', 'abc', '507f1f77bcf86cd799439011', '1'.repeat(64), '9'.repeat(99), '%F0%9F%98%80']) {
      const r = await put(member, `/api/messages/${roomId}/${id}`, { content: 'x' });
      expect(r.statusCode, id).toBe(404);
      expect(r.json().error).toBe('not_found');
    }
  });

  it('does not reach a message through another room', async () => {
    const { member, roomId } = await groupOf();
    const mine = await createGroup(app, member);
    const message = await send(app, member, mine.id, 'in my room');
    expect((await put(member, `/api/messages/${roomId}/${message.id}`, { content: 'moved?' })).statusCode).toBe(404);
  });
});

describe('DELETE /api/messages/:room_id/:message_id', () => {
  it('lets the author, or a group owner/admin, delete; it keeps its place with content null', async () => {
    const { owner, admin, member, roomId } = await groupOf();
    const [m1, m2, m3, m4] = [
      await send(app, member, roomId, 'one'),
      await send(app, member, roomId, 'two'),
      await send(app, owner, roomId, 'three'),
      await send(app, admin, roomId, 'four'),
    ];
    expect((await del(member, `/api/messages/${roomId}/${m3.id}`)).statusCode).toBe(403);
    expect((await del(admin, `/api/messages/${roomId}/${m1.id}`)).statusCode).toBe(204);
    expect((await del(owner, `/api/messages/${roomId}/${m4.id}`)).statusCode).toBe(204);
    expect((await del(member, `/api/messages/${roomId}/${m2.id}`)).statusCode).toBe(204);
    expect((await del(member, `/api/messages/${roomId}/${m2.id}`)).statusCode).toBe(204);
    expect((await del(member, `/api/messages/${roomId}/nope`)).statusCode).toBe(404);
    const history = (await get(member, `/api/messages/${roomId}`)).json().messages as MessageView[];
    expect(history.map((m) => [m.id, m.content, m.is_deleted])).toEqual([
      [m4.id, null, true],
      [m3.id, 'three', false],
      [m2.id, null, true],
      [m1.id, null, true],
    ]);
  });

  it('in a direct room, only the author may delete', async () => {
    const [a, b] = await makeUsers(app, 2, 'msg');
    const room = await openDirect(app, a!, b!);
    const message = await send(app, a!, room.id, 'mine');
    expect((await del(b!, `/api/messages/${room.id}/${message.id}`)).statusCode).toBe(403);
    expect((await del(a!, `/api/messages/${room.id}/${message.id}`)).statusCode).toBe(204);
  });
});

describe('POST /api/messages/:room_id/:message_id/reactions', () => {
  it('toggles my reaction and shows who reacted', async () => {
    const { owner, admin, member, outsider, roomId } = await groupOf();
    const message = await send(app, member, roomId, 'react!');
    const url = `/api/messages/${roomId}/${message.id}/reactions`;
    const liked = await post(owner, url, { reaction: 'like' });
    expect(liked.statusCode).toBe(200);
    expect(liked.json().message.reactions).toEqual({ like: [owner.id] });
    await post(admin, url, { reaction: 'like' });
    const loved = await post(owner, url, { reaction: 'love' });
    expect(loved.json().message.reactions).toEqual({ like: [owner.id, admin.id].sort((x, y) => x - y), love: [owner.id] });
    const unliked = await post(owner, url, { reaction: 'like' });
    expect(unliked.json().message.reactions).toEqual({ like: [admin.id], love: [owner.id] });
    const history = (await get(member, `/api/messages/${roomId}`)).json().messages;
    expect(history[0].reactions).toEqual({ like: [admin.id], love: [owner.id] });

    expect((await post(owner, url, { reaction: 'wow' })).statusCode).toBe(400);
    expect((await post(outsider, url, { reaction: 'like' })).statusCode).toBe(403);
    expect((await post(owner, `/api/messages/${roomId}/zzz/reactions`, { reaction: 'like' })).statusCode).toBe(404);
    await del(member, `/api/messages/${roomId}/${message.id}`);
    expect((await post(owner, url, { reaction: 'sad' })).statusCode).toBe(409);
  });
});

describe('POST /api/messages/:room_id/read', () => {
  it('records my read position, reports unread_count, and never moves backwards', async () => {
    const { owner, member, roomId } = await groupOf();
    const sent = [];
    for (let i = 0; i < 5; i += 1) sent.push(await send(app, owner, roomId, `n${i}`));
    await send(app, member, roomId, 'my own');
    const url = `/api/messages/${roomId}/read`;

    const rooms = async () => (await get(member, `/api/chat-rooms/${roomId}`)).json().room.unread_count;
    expect(await rooms()).toBe(5);
    const read = await post(member, url, { message_id: sent[2]!.id });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({
      room_id: roomId,
      user_id: member.id,
      last_read_message_id: sent[2]!.id,
      read_at: expect.stringMatching(/Z$/),
      unread_count: 2,
    });
    expect(await rooms()).toBe(2);

    const backwards = await post(member, url, { message_id: sent[0]!.id });
    expect(backwards.json()).toMatchObject({ last_read_message_id: sent[2]!.id, unread_count: 2, read_at: read.json().read_at });
    const forward = await post(member, url, { message_id: sent[4]!.id });
    expect(forward.json()).toMatchObject({ last_read_message_id: sent[4]!.id, unread_count: 0 });
    const member_ = await app.db.roomMember.findFirstOrThrow({ where: { roomId, userId: member.id } });
    expect(member_.lastReadMessageId).toBe(sent[4]!.id);
  });

  it('ends at the newest position under concurrent read receipts', async () => {
    const { owner, member, roomId } = await groupOf();
    const sent = [];
    for (let i = 0; i < 8; i += 1) sent.push(await send(app, owner, roomId, `c${i}`));
    await Promise.all(sent.map((m, i) => post(member, `/api/messages/${roomId}/read`, { message_id: m.id }, i % 2 ? app : other)));
    const state = await app.db.roomMember.findFirstOrThrow({ where: { roomId, userId: member.id } });
    expect(state.lastReadMessageId).toBe(sent[7]!.id);
  });

  it('refuses messages of other rooms and unknown ids (404), and non-members (403)', async () => {
    const { member, outsider, roomId } = await groupOf();
    const elsewhere = await createGroup(app, member);
    const there = await send(app, member, elsewhere.id, 'other');
    const here = await send(app, member, roomId, 'here');
    expect((await post(member, `/api/messages/${roomId}/read`, { message_id: there.id })).statusCode).toBe(404);
    expect((await post(member, `/api/messages/${roomId}/read`, { message_id: 'garbage' })).statusCode).toBe(404);
    expect((await post(member, `/api/messages/${roomId}/read`, {})).statusCode).toBe(400);
    expect((await post(outsider, `/api/messages/${roomId}/read`, { message_id: here.id })).statusCode).toBe(403);
  });

  it('does not count messages from before I joined as unread', async () => {
    const { owner, roomId } = await groupOf();
    await send(app, owner, roomId, 'old news');
    const [late] = await makeUsers(app, 1, 'msg');
    await addMember(app, owner, roomId, late!);
    expect((await get(late!, `/api/chat-rooms/${roomId}`)).json().room.unread_count).toBe(0);
    await send(app, owner, roomId, 'fresh');
    expect((await get(late!, `/api/chat-rooms/${roomId}`)).json().room.unread_count).toBe(1);
  });
});

describe('GET /api/messages/:room_id/search', () => {
  it('finds text in this room, case-insensitively, newest first, never deleted messages', async () => {
    const { owner, member, outsider, roomId } = await groupOf();
    const a = await send(app, owner, roomId, 'Meeting at 3pm');
    await send(app, owner, roomId, 'lunch?');
    const b = await send(app, member, roomId, '다음 MEETING 언제?');
    const c = await send(app, member, roomId, 'meeting cancelled');
    await del(member, `/api/messages/${roomId}/${c.id}`);
    const elsewhere = await createGroup(app, owner);
    await send(app, owner, elsewhere.id, 'meeting elsewhere');

    const res = await get(member, `/api/messages/${roomId}/search?q=meeting`);
    expect(res.statusCode).toBe(200);
    expect(res.json().messages.map((m: MessageView) => m.id)).toEqual([b.id, a.id]);
    const korean = await get(member, `/api/messages/${roomId}/search?q=${encodeURIComponent('언제')}`);
    expect(korean.json().messages.map((m: MessageView) => m.id)).toEqual([b.id]);
    expect((await get(member, `/api/messages/${roomId}/search?q=${encodeURIComponent('%')}`)).json().messages).toEqual([]);

    // Control characters too: a NUL would reach MongoDB's $regex, which refuses it.
    for (const q of ['', '%20%20', 'x'.repeat(101), 'a%00b', '%1Bx', 'a%7Fb']) {
      expect((await get(member, `/api/messages/${roomId}/search?q=${q}`)).statusCode, q).toBe(400);
    }
    expect((await get(member, `/api/messages/${roomId}/search`)).statusCode).toBe(400);
    expect((await get(outsider, `/api/messages/${roomId}/search?q=meeting`)).statusCode).toBe(403);
  });
});

describe('domain events', () => {
  it('publishes every change with the message as the API returns it', async () => {
    const { owner, member, roomId } = await groupOf();
    const recorder = await recordDomainEvents(app);
    try {
      const message = await send(app, member, roomId, 'evented');
      const edited = (await put(member, `/api/messages/${roomId}/${message.id}`, { content: 'evented!' })).json().message;
      const reacted = (await post(owner, `/api/messages/${roomId}/${message.id}/reactions`, { reaction: 'laugh' })).json().message;
      const read = (await post(owner, `/api/messages/${roomId}/read`, { message_id: message.id })).json();
      await del(owner, `/api/messages/${roomId}/${message.id}`);
      await eventually(() => recorder.events.filter((e) => 'room_id' in e && e.room_id === roomId).length >= 5);
      const mine = recorder.events.filter((e) => 'room_id' in e && e.room_id === roomId);
      expect(mine.map((e) => e.type)).toEqual(['message_created', 'message_updated', 'reaction_changed', 'read_updated', 'message_deleted']);
      // Each is a room event: it arrives with its id in the room's history.
      const eventId = expect.stringMatching(/^\d+-\d+$/);
      expect(mine[0]).toEqual({ type: 'message_created', event_id: eventId, room_id: roomId, message });
      expect(mine[1]).toEqual({ type: 'message_updated', event_id: eventId, room_id: roomId, message: edited });
      expect(mine[2]).toEqual({ type: 'reaction_changed', event_id: eventId, room_id: roomId, message: reacted, user_id: owner.id, reaction: 'laugh', added: true });
      expect(mine[3]).toEqual({ type: 'read_updated', event_id: eventId, room_id: roomId, user_id: owner.id, message_id: message.id, read_at: read.read_at });
      expect(mine[4]).toMatchObject({ type: 'message_deleted', room_id: roomId, deleted_by: owner.id, message: { id: message.id, content: null, is_deleted: true } });
    } finally {
      recorder.stop();
    }
  });
});

describe('logging', () => {
  it('binds userId and roomId to the request logs', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = await buildApp(testConfig(), { logger: { level: 'info', stream } });
    await logged.ready();
    try {
      const { outsider, roomId } = await groupOf();
      const res = await logged.inject({ method: 'POST', url: `/api/messages/${roomId}`, headers: outsider.auth, payload: { content: 'x' } });
      expect(res.statusCode).toBe(403);
      const entry = lines.map((line) => JSON.parse(line)).find((e) => e.code === 'forbidden');
      expect(entry).toMatchObject({ userId: outsider.id, roomId });
    } finally {
      await logged.close();
    }
  });
});
