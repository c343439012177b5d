import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DomainEvent, DomainEventOf } from '../../src/lib/domain-events.ts';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { mentionedUsernames, previewOf } from '../../src/modules/notifications/notification.rules.ts';
import type { NotificationPageView, NotificationView } from '../../src/modules/notifications/notifications.schemas.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { block, createGroup, makeUsers, recordDomainEvents, send } from '../helpers/rooms.ts';
import { answerRequest, sendRequest } from '../helpers/social.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * Two instances on one database and Redis: every domain event reaches both, and each
 * notification must still be raised exactly once.
 */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
let recorded: { events: DomainEvent[]; stop: () => void };

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  recorded = await recordDomainEvents(a.app);
});
afterAll(async () => {
  recorded.stop();
  await Promise.all([a.app.close(), b.app.close()]);
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function list(user: TestUser, query = '', app: App = a.app): Promise<NotificationPageView> {
  const res = await app.inject({ url: `/api/notifications${query}`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** My notifications once `predicate` holds for them (they are raised in the background). */
async function waitForList(user: TestUser, predicate: (notifications: NotificationView[]) => boolean): Promise<NotificationView[]> {
  return vi.waitFor(
    async () => {
      const { notifications } = await list(user);
      if (!predicate(notifications)) throw new Error(`not yet: ${JSON.stringify(notifications)}`);
      return notifications;
    },
    { timeout: 5000, interval: 50 },
  );
}

const ofType = (type: NotificationView['type']) => (notifications: NotificationView[]) => notifications.filter((n) => n.type === type);

const markRead = (user: TestUser, payload: unknown, app: App = a.app) =>
  app.inject({ method: 'POST', url: '/api/notifications/read', headers: user.auth, payload: payload as object });

const changedFor = (user: TestUser) =>
  recorded.events.filter((event): event is DomainEventOf<'notification_changed'> => event.type === 'notification_changed' && event.user_id === user.id);

const readEventsFor = (user: TestUser) =>
  recorded.events.filter((event): event is DomainEventOf<'notifications_read'> => event.type === 'notifications_read' && event.user_id === user.id);

/** A group room of `owner` and `members` (made friends first). */
async function group(owner: TestUser, members: TestUser[]) {
  return createGroup(a.app, owner, { member_ids: members.map((member) => member.id) });
}

const readRoom = (user: TestUser, roomId: number, messageId: string) =>
  a.app.inject({ method: 'POST', url: `/api/messages/${roomId}/read`, headers: user.auth, payload: { message_id: messageId } });

const mute = (user: TestUser, roomId: number, muted: boolean) =>
  a.app.inject({ method: 'PATCH', url: `/api/chat-rooms/${roomId}/settings`, headers: user.auth, payload: { muted } });

describe('friend requests', () => {
  it('raises friend_request for the addressee and friend_accepted for the requester', async () => {
    const [alice, bob] = await makeUsers(a.app, 2, 'nfr');
    expect((await sendRequest(a.app, alice!, bob!.id)).statusCode).toBe(201);
    const [request] = await waitForList(bob!, (n) => n.length === 1);
    expect(request).toEqual({
      id: expect.any(Number),
      type: 'friend_request',
      actor_id: alice!.id,
      room_id: null,
      message_id: null,
      preview: null,
      count: 1,
      created_at: expect.any(String),
      read_at: null,
    });
    await vi.waitFor(() =>
      expect(changedFor(bob!)).toEqual([{ type: 'notification_changed', user_id: bob!.id, notification: request, unread_count: 1 }]),
    );

    expect((await answerRequest(b.app, bob!, alice!.id, 'accept')).statusCode).toBe(200);
    const [accepted] = await waitForList(alice!, (n) => n.length === 1);
    expect(accepted).toMatchObject({ type: 'friend_accepted', actor_id: bob!.id, room_id: null, count: 1, read_at: null });
    expect((await list(bob!)).notifications).toHaveLength(1);
  });

  it('raises friend_accepted when a request to someone who had asked me accepts theirs; nothing for a rejection', async () => {
    const [carol, dave, erin] = await makeUsers(a.app, 3, 'nfr');
    await sendRequest(a.app, carol!, dave!.id);
    expect((await sendRequest(a.app, dave!, carol!.id)).statusCode).toBe(200);
    const [accepted] = await waitForList(carol!, (n) => n.length === 1);
    expect(accepted).toMatchObject({ type: 'friend_accepted', actor_id: dave!.id });
    expect(ofType('friend_accepted')((await list(dave!)).notifications)).toEqual([]);

    await sendRequest(a.app, erin!, dave!.id);
    await waitForList(dave!, (n) => ofType('friend_request')(n).length === 2);
    expect((await answerRequest(a.app, dave!, erin!.id, 'reject')).statusCode).toBe(200);
    await pause(300);
    expect((await list(erin!)).notifications).toEqual([]);
  });

  it('raises none between users blocked either way', async () => {
    const [alice, bob] = await makeUsers(a.app, 2, 'nfr');
    await block(a.app, bob!, alice!);
    // The API refuses the request itself; a request that raced the block still raises nothing.
    await a.app.events.publish({
      type: 'friend_request_changed',
      friendship_id: 2_000_000_000,
      requester_id: alice!.id,
      addressee_id: bob!.id,
      status: 'pending',
      at: new Date().toISOString(),
    });
    await pause(500);
    expect((await list(bob!)).notifications).toEqual([]);
  });
});

describe('message notifications', () => {
  it('keeps one unread notification per room whose count, preview, sender and time follow the newest message', async () => {
    const [owner, bob, carol] = await makeUsers(a.app, 3, 'nmsg');
    const room = await group(owner!, [bob!, carol!]);
    await send(a.app, owner!, room.id, 'first');
    const second = await send(b.app, carol!, room.id, 'second');

    const [forBob] = await waitForList(bob!, (n) => n[0]?.count === 2);
    expect(forBob).toEqual({
      id: expect.any(Number),
      type: 'message',
      actor_id: carol!.id,
      room_id: room.id,
      message_id: second.id,
      preview: 'second',
      count: 2,
      created_at: second.created_at,
      read_at: null,
    });
    expect((await list(bob!)).notifications).toHaveLength(1);
    // Nothing for the sender of a message: the owner has only carol's.
    const [forOwner] = await waitForList(owner!, (n) => n.length === 1);
    expect(forOwner).toMatchObject({ type: 'message', count: 1, actor_id: carol!.id });
    const [forCarol] = await waitForList(carol!, (n) => n.length === 1);
    expect(forCarol).toMatchObject({ count: 1, actor_id: owner!.id, preview: 'first' });
    // Messages that arrive while a room's earlier ones are being handled are counted together: one event or two.
    await vi.waitFor(() => expect(changedFor(bob!).at(-1)).toMatchObject({ notification: { count: 2 }, unread_count: 1 }));
    const counts = changedFor(bob!).map((event) => event.notification.count);
    expect(counts).toEqual([...new Set(counts)].sort());
  });

  it('previews the first 100 characters, and images and files by a label', async () => {
    const [owner, bob] = await makeUsers(a.app, 2, 'nmsg');
    const room = await group(owner!, [bob!]);
    const long = `${'가'.repeat(60)}${'😀'.repeat(60)}`;
    await send(a.app, owner!, room.id, long);
    const [first] = await waitForList(bob!, (n) => n.length === 1);
    expect(first!.preview).toBe(`${'가'.repeat(60)}${'😀'.repeat(40)}`);
    await send(a.app, owner!, room.id, { message_type: 'image', attachment_url: 'https://example.com/cat.png', content: 'a caption' });
    const [second] = await waitForList(bob!, (n) => n[0]?.count === 2);
    expect(second!.preview).toBe('사진');
  });

  it('raises none for a member who muted the room, until they unmute it', async () => {
    const [owner, muted, other] = await makeUsers(a.app, 3, 'nmute');
    const room = await group(owner!, [muted!, other!]);
    expect((await mute(muted!, room.id, true)).statusCode).toBe(200);
    await send(a.app, owner!, room.id, 'while muted');
    // The same message raises every member's notification in one go: once `other` has theirs, `muted` would have too.
    await waitForList(other!, (n) => n.length === 1);
    expect((await list(muted!)).notifications).toEqual([]);

    expect((await mute(muted!, room.id, false)).statusCode).toBe(200);
    await send(a.app, owner!, room.id, 'after unmuting');
    const [notification] = await waitForList(muted!, (n) => n.length === 1);
    expect(notification).toMatchObject({ type: 'message', count: 1, preview: 'after unmuting' });
  });

  it('raises none for a member with a socket joined to the room, on any instance', async () => {
    const [owner, watcher, away] = await makeUsers(a.app, 3, 'nsock');
    const room = await group(owner!, [watcher!, away!]);
    const socket = await WsClient.connect(b.baseUrl, watcher!.token, `/ws/chat/${room.id}`);
    try {
      await socket.next((frame) => frame.type === 'joined' && frame.room_id === room.id);
      await send(a.app, owner!, room.id, 'while watching');
      await waitForList(away!, (n) => n.length === 1);
      expect((await list(watcher!)).notifications).toEqual([]);
    } finally {
      socket.close();
    }
    await vi.waitFor(async () => {
      const status = await a.app.inject({ url: `/api/ws/rooms/${room.id}/status`, headers: owner!.auth });
      expect(status.json().online_user_ids).toEqual([]);
    });
    await send(a.app, owner!, room.id, 'after leaving');
    await waitForList(watcher!, (n) => n.length === 1);
  });
});

describe('mentions', () => {
  it('raises a mention for each member named as @username, case-insensitively, instead of their message notification', async () => {
    const [owner, named, bystander, mutedNamed] = await makeUsers(a.app, 4, 'nment');
    const [outsider] = await makeUsers(a.app, 1, 'nment');
    const room = await group(owner!, [named!, bystander!, mutedNamed!]);
    await mute(mutedNamed!, room.id, true);
    const content = `hi @${named!.username.toUpperCase()}, @${mutedNamed!.username} and @${outsider!.username}; not me @${owner!.username}`;
    const message = await send(a.app, owner!, room.id, content);

    const [mention] = await waitForList(named!, (n) => n.length === 1);
    expect(mention).toEqual({
      id: expect.any(Number),
      type: 'mention',
      actor_id: owner!.id,
      room_id: room.id,
      message_id: message.id,
      preview: content.slice(0, 100),
      count: 1,
      created_at: message.created_at,
      read_at: null,
    });
    // Muting silences message notifications, not mentions.
    const [mutedMention] = await waitForList(mutedNamed!, (n) => n.length === 1);
    expect(mutedMention).toMatchObject({ type: 'mention', message_id: message.id });
    const [plain] = await waitForList(bystander!, (n) => n.length === 1);
    expect(plain).toMatchObject({ type: 'message', message_id: message.id });
    expect((await list(outsider!)).notifications).toEqual([]);
    expect((await list(owner!)).notifications).toEqual([]);

    // A later message without the name counts in their message notification as usual.
    await send(a.app, owner!, room.id, 'no names here');
    const both = await waitForList(named!, (n) => n.length === 2);
    expect(both.map((n) => n.type)).toEqual(['message', 'mention']);
  });

  it('finds @username only as a word of its own', () => {
    expect(mentionedUsernames('@Alice_1, hi @bob! mail bob@carol.com @@dave @ab @erin_')).toEqual(new Set(['alice_1', 'bob', 'erin_']));
    expect(mentionedUsernames(null)).toEqual(new Set());
    const message = (fields: Partial<MessageView>) => ({ content: null, message_type: 'text' as const, ...fields });
    expect(previewOf(message({ content: '  trimmed  ' }))).toBe('trimmed');
    expect(previewOf(message({ message_type: 'file', content: 'report.pdf' }))).toBe('파일');
    expect(previewOf(message({ message_type: 'sticker' }))).toBe('스티커');
  });
});

describe('blocks', () => {
  it('raises no message or mention notifications between users blocked either way', async () => {
    const [sender, blockedMe, iBlocked, friend] = await makeUsers(a.app, 4, 'nblk');
    const room = await group(sender!, [blockedMe!, iBlocked!, friend!]);
    await block(a.app, blockedMe!, sender!);
    await block(a.app, sender!, iBlocked!);
    await send(a.app, sender!, room.id, `@${blockedMe!.username} @${iBlocked!.username} @${friend!.username}`);
    await waitForList(friend!, (n) => n.length === 1);
    expect((await list(blockedMe!)).notifications).toEqual([]);
    expect((await list(iBlocked!)).notifications).toEqual([]);
  });
});

describe('reading', () => {
  it('reading a room up to its newest message marks its message notification read', async () => {
    const [owner, reader] = await makeUsers(a.app, 2, 'nread');
    const room = await group(owner!, [reader!]);
    const first = await send(a.app, owner!, room.id, 'one');
    const second = await send(a.app, owner!, room.id, 'two');
    const [open] = await waitForList(reader!, (n) => n[0]?.count === 2);

    expect((await readRoom(reader!, room.id, first.id)).statusCode).toBe(200);
    await pause(400);
    expect((await list(reader!)).notifications).toEqual([open]);

    expect((await readRoom(reader!, room.id, second.id)).statusCode).toBe(200);
    const [read] = await waitForList(reader!, (n) => n[0]?.read_at !== null);
    expect(read).toEqual({ ...open, read_at: expect.any(String) });
    expect((await list(reader!)).unread_count).toBe(0);
    await vi.waitFor(() =>
      expect(changedFor(reader!).at(-1)).toEqual({ type: 'notification_changed', user_id: reader!.id, notification: read, unread_count: 0 }),
    );

    // The next message starts a new unread notification; the read one stays as it was.
    const third = await send(a.app, owner!, room.id, 'three');
    const after = await waitForList(reader!, (n) => n.length === 2);
    expect(after[0]).toMatchObject({ type: 'message', count: 1, message_id: third.id, read_at: null });
    expect(after[1]).toEqual(read);
  });

  it('marks my notifications read by ids (anyone else\'s are ignored) or all at once', async () => {
    const [me, other, ...askers] = await makeUsers(a.app, 5, 'nread');
    for (const asker of askers) await sendRequest(a.app, asker, me!.id);
    await sendRequest(a.app, askers[0]!, other!.id);
    const mine = await waitForList(me!, (n) => n.length === 3);
    const [theirs] = await waitForList(other!, (n) => n.length === 1);

    const some = await markRead(me!, { ids: [mine[0]!.id, theirs!.id, 987_654_321] }, b.app);
    expect(some.statusCode, some.body).toBe(200);
    expect(some.json()).toEqual({ unread_count: 2 });
    const afterSome = (await list(me!)).notifications;
    expect(afterSome[0]!.read_at).not.toBeNull();
    expect(afterSome.slice(1).map((n) => n.read_at)).toEqual([null, null]);
    expect((await list(other!)).notifications[0]!.read_at).toBeNull();
    await vi.waitFor(() => expect(readEventsFor(me!)).toHaveLength(1));
    expect(readEventsFor(me!)[0]).toEqual({
      type: 'notifications_read',
      user_id: me!.id,
      ids: [mine[0]!.id],
      read_at: afterSome[0]!.read_at,
      unread_count: 2,
    });

    const all = await markRead(me!, { all: true });
    expect(all.json()).toEqual({ unread_count: 0 });
    expect((await list(me!)).notifications.every((n) => n.read_at !== null)).toBe(true);
    await vi.waitFor(() => expect(readEventsFor(me!)).toHaveLength(2));
    expect(readEventsFor(me!)[1]).toMatchObject({ ids: 'all', unread_count: 0 });

    // Nothing left to mark: same answer, no event.
    expect((await markRead(me!, { all: true })).json()).toEqual({ unread_count: 0 });
    expect((await markRead(me!, { ids: [mine[1]!.id] })).json()).toEqual({ unread_count: 0 });
    await pause(200);
    expect(readEventsFor(me!)).toHaveLength(2);
  });

  it('refuses a body that is neither ids nor all: true', async () => {
    const [me] = await makeUsers(a.app, 1, 'nread');
    for (const payload of [{}, { ids: [] }, { all: false }, { ids: [1], all: true }, { ids: ['1'] }, { ids: [0] }, { ids: Array.from({ length: 101 }, (_, i) => i + 1) }]) {
      const res = await markRead(me!, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
  });
});

describe('GET /api/notifications', () => {
  it('pages newest first with an opaque cursor, with unread_only, and counts every unread one', async () => {
    const [me, ...askers] = await makeUsers(a.app, 6, 'npage');
    for (const asker of askers) {
      await sendRequest(a.app, asker, me!.id);
      await pause(5);
    }
    const everything = await waitForList(me!, (n) => n.length === 5);
    expect(everything.map((n) => n.actor_id)).toEqual(askers.map((asker) => asker.id).reverse());

    const pages: NotificationPageView[] = [];
    let cursor: string | null = null;
    do {
      const page: NotificationPageView = await list(me!, `?limit=2${cursor ? `&before=${cursor}` : ''}`, b.app);
      pages.push(page);
      cursor = page.next_cursor;
    } while (cursor);
    expect(pages.map((page) => [page.notifications.length, page.has_more, page.unread_count])).toEqual([
      [2, true, 5],
      [2, true, 5],
      [1, false, 5],
    ]);
    expect(pages.flatMap((page) => page.notifications)).toEqual(everything);

    await markRead(me!, { ids: [everything[0]!.id, everything[3]!.id] });
    const unreadFirst = await list(me!, '?unread_only=true&limit=2');
    expect(unreadFirst).toMatchObject({ has_more: true, unread_count: 3 });
    expect(unreadFirst.notifications.map((n) => n.id)).toEqual([everything[1]!.id, everything[2]!.id]);
    const unreadNext = await list(me!, `?unread_only=1&limit=2&before=${unreadFirst.next_cursor}`);
    expect(unreadNext).toMatchObject({ has_more: false, next_cursor: null });
    expect(unreadNext.notifications.map((n) => n.id)).toEqual([everything[4]!.id]);
    expect((await list(me!, '?unread_only=false')).notifications).toHaveLength(5);
  });

  it('refuses bad queries with 400 and calls without a token with 401', async () => {
    const [me] = await makeUsers(a.app, 1, 'npage');
    const forged = Buffer.from(JSON.stringify({ c: 'x', i: 1 })).toString('base64url');
    for (const query of ['?limit=0', '?limit=101', '?unread_only=maybe', '?before=not*a*cursor', `?before=${forged}`]) {
      const res = await a.app.inject({ url: `/api/notifications${query}`, headers: me!.auth });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error).toBe('validation_error');
    }
    expect((await a.app.inject({ url: '/api/notifications' })).statusCode).toBe(401);
    const anonymousRead = await a.app.inject({ method: 'POST', url: '/api/notifications/read', payload: { all: true } });
    expect(anonymousRead.statusCode).toBe(401);
  });
});

describe('two instances', () => {
  it('count every message of a flood into one room once, in one unread notification', async () => {
    const [owner, other, member] = await makeUsers(a.app, 3, 'nflood');
    const room = await group(owner!, [other!, member!]);
    await Promise.all(Array.from({ length: 60 }, (_, i) => send(i % 2 === 0 ? a.app : b.app, i % 3 === 0 ? other! : owner!, room.id, `flood ${i}`)));
    await waitForList(member!, (n) => n[0]?.count === 60);
    await pause(300);
    expect(await a.app.db.notification.findMany({ where: { userId: member!.id }, select: { count: true, type: true } })).toEqual([
      { count: 60, type: 'message' },
    ]);
    // Each sender is told of the other's messages only.
    await waitForList(other!, (n) => n[0]?.count === 40);
    await waitForList(owner!, (n) => n[0]?.count === 20);
  });

  it('messages sent at once into several rooms, muted or not, each raise their own room\'s notifications (one batch spans the rooms)', async () => {
    const [owner, member, quiet] = await makeUsers(a.app, 3, 'nmany');
    const rooms: Awaited<ReturnType<typeof group>>[] = [];
    for (let i = 0; i < 3; i += 1) rooms.push(await group(owner!, [member!, quiet!]));
    expect((await mute(quiet!, rooms[1]!.id, true)).statusCode).toBe(200);
    await Promise.all(rooms.flatMap((room, r) => Array.from({ length: r + 1 }, (_, i) => send(i % 2 === 0 ? a.app : b.app, owner!, room.id, `room ${r} message ${i}`))));
    const counts = (notifications: NotificationView[]) => new Map(ofType('message')(notifications).map((n) => [n.room_id, n.count]));
    await waitForList(member!, (n) => rooms.every((room, r) => counts(n).get(room.id) === r + 1));
    await waitForList(quiet!, (n) => counts(n).get(rooms[0]!.id) === 1 && counts(n).get(rooms[2]!.id) === 3);
    await pause(300);
    expect(counts(await list(quiet!).then((page) => page.notifications)).has(rooms[1]!.id)).toBe(false);
    expect(await a.app.db.notification.count({ where: { userId: member!.id } })).toBe(3);
  });

  it('raise each notification exactly once, whichever instance the cause came through', async () => {
    const [owner, member, asker] = await makeUsers(a.app, 3, 'ntwo');
    const room = await group(owner!, [member!]);
    const sent = await Promise.all(Array.from({ length: 6 }, (_, i) => send(i % 2 === 0 ? a.app : b.app, owner!, room.id, `message ${i}`)));
    await send(b.app, owner!, room.id, `@${member!.username} look`);
    expect((await sendRequest(b.app, asker!, member!.id)).statusCode).toBe(201);

    const notifications = await waitForList(member!, (n) => n.length === 3 && ofType('message')(n)[0]?.count === 6);
    await pause(500);
    expect(await a.app.db.notification.count({ where: { userId: member!.id } })).toBe(3);
    expect(ofType('mention')(notifications)).toHaveLength(1);
    const [counted] = ofType('message')((await list(member!)).notifications);
    expect(counted).toMatchObject({ count: 6, read_at: null });
    expect(sent.map((message) => message.id)).toContain(counted!.message_id);
    expect(ofType('friend_request')(notifications)).toHaveLength(1);
    // One notification_changed per change: one for the request and the mention, at most one per message.
    const events = changedFor(member!);
    expect(events.filter((event) => event.notification.type === 'friend_request')).toHaveLength(1);
    const counts = events.filter((event) => event.notification.type === 'message').map((event) => event.notification.count);
    expect(counts.length).toBeLessThanOrEqual(6);
    expect(Math.max(...counts)).toBe(6);
    expect(events.filter((event) => event.notification.type === 'mention')).toHaveLength(1);
  });
});
