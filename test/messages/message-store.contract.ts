import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cursorFor,
  InvalidCursorError,
  type MessageStore,
  parseCursor,
  sortKey,
  type NewMessage,
  type StoredMessage,
} from '../../src/modules/messages/store/message-store.ts';

/** What a store under test needs around it: rooms and users that may own messages. */
export interface StoreFixture {
  store: MessageStore;
  newRoom(): Promise<number>;
  newUser(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The one behaviour both message stores must have. Each adapter's test file calls this with a
 * factory; MongoDB runs it only when MONGODB_URL is set.
 */
export function messageStoreContract(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`MessageStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: MessageStore;
    beforeAll(async () => {
      fx = await setup();
      store = fx.store;
    });
    afterAll(async () => fx?.close());

    const message = (roomId: number, userId: number, extra: Partial<NewMessage> = {}): NewMessage => ({
      roomId,
      userId,
      content: 'hello',
      messageType: 'text',
      attachmentUrl: null,
      replyTo: null,
      clientMessageId: null,
      ...extra,
    });

    async function seed(roomId: number, userId: number, contents: string[]): Promise<StoredMessage[]> {
      const created: StoredMessage[] = [];
      for (const content of contents) created.push((await store.create(message(roomId, userId, { content }))).message);
      return created;
    }

    it('creates a message and finds it by id in its room only', async () => {
      const [room, other, user] = [await fx.newRoom(), await fx.newRoom(), await fx.newUser()];
      const { message: created, created: isNew } = await store.create(
        message(room, user, { content: '안녕하세요 👋🏽 “quotes”', attachmentUrl: '/uploads/a.png', messageType: 'image' }),
      );
      expect(isNew).toBe(true);
      expect(created).toMatchObject({
        roomId: room,
        userId: user,
        content: '안녕하세요 👋🏽 “quotes”',
        messageType: 'image',
        attachmentUrl: '/uploads/a.png',
        replyTo: null,
        clientMessageId: null,
        isEdited: false,
        editedAt: null,
        isDeleted: false,
        reactions: {},
        version: 1,
      });
      expect(typeof created.id).toBe('string');
      expect(created.createdAt).toBeInstanceOf(Date);
      expect(await store.findById(room, created.id)).toEqual(created);
      expect(await store.findById(other, created.id)).toBeNull();
    });

    it('keeps the attachment id a message sends (none when not given), and clears it with the message', async () => {
      const [room, user] = [await fx.newRoom(), await fx.newUser()];
      const attachmentId = 'ab'.repeat(16);
      const { message: sent } = await store.create(message(room, user, { messageType: 'image', content: null, attachmentId }));
      expect(sent.attachmentId).toBe(attachmentId);
      expect((await store.findById(room, sent.id))?.attachmentId).toBe(attachmentId);
      expect((await store.page(room, { limit: 5 })).messages[0]?.attachmentId).toBe(attachmentId);
      const { message: plain } = await store.create(message(room, user));
      expect(plain.attachmentId).toBeNull();
      expect((await store.findById(room, plain.id))?.attachmentId).toBeNull();
      expect((await store.softDelete(room, sent.id, new Date()))?.attachmentId).toBeNull();
      expect((await store.findById(room, sent.id))?.attachmentId).toBeNull();
    });

    it('treats ids it could never have issued as not found', async () => {
      const room = await fx.newRoom();
      for (const id of ['abc', '', '-1', '0', '1.5', '99999999999999999999999', 'ffffffffffffffffffffffff0', '../etc']) {
        expect(store.isValidId(id)).toBe(false);
        expect(await store.findById(room, id)).toBeNull();
        expect(await store.editContent(room, id, 'x', new Date())).toBeNull();
        expect(await store.softDelete(room, id, new Date())).toBeNull();
        expect(await store.toggleReaction(room, id, 1, 'like')).toBeNull();
      }
    });

    it('is idempotent on (room, sender, client_message_id), also under concurrency', async () => {
      const [room, otherRoom, user, other] = [await fx.newRoom(), await fx.newRoom(), await fx.newUser(), await fx.newUser()];
      const first = await store.create(message(room, user, { clientMessageId: 'tmp-1', content: 'first' }));
      const again = await store.create(message(room, user, { clientMessageId: 'tmp-1', content: 'second' }));
      expect(first.created).toBe(true);
      expect(again).toEqual({ message: first.message, created: false });
      // Another sender, or another room, may use the same temporary id.
      expect((await store.create(message(room, other, { clientMessageId: 'tmp-1' }))).created).toBe(true);
      expect((await store.create(message(otherRoom, user, { clientMessageId: 'tmp-1' }))).created).toBe(true);
      // Without a client id every call is a new message.
      const a = await store.create(message(room, user));
      const b = await store.create(message(room, user));
      expect(a.message.id).not.toBe(b.message.id);

      const racers = await Promise.all(
        Array.from({ length: 12 }, () => store.create(message(room, user, { clientMessageId: 'race', content: 'race' }))),
      );
      expect(new Set(racers.map((r) => r.message.id)).size).toBe(1);
      expect(racers.filter((r) => r.created)).toHaveLength(1);
      const page = await store.page(room, { limit: 100 });
      expect(page.messages.filter((m) => m.clientMessageId === 'race')).toHaveLength(1);
    });

    it('stores a batch in one seq range, in input order, repeats (in the batch or stored before) taking none', async () => {
      const [room, user, other] = [await fx.newRoom(), await fx.newUser(), await fx.newUser()];
      const earlier = await store.create(message(room, user, { clientMessageId: 'stored', content: 'earlier' }));
      const outcomes = await store.createMany([
        message(room, user, { content: 'b1', clientMessageId: 'b1' }),
        message(room, user, { content: 'resend of earlier', clientMessageId: 'stored' }),
        message(room, other, { content: 'b2', clientMessageId: 'b1' }),
        message(room, user, { content: 'repeat of b1', clientMessageId: 'b1' }),
        message(room, user, { content: 'b3' }),
      ]);
      const results = outcomes.map((outcome) => (outcome.ok ? outcome.result : expect.unreachable(String(outcome.error))));
      expect(results.map((r) => [r.message.content, r.message.seq, r.created])).toEqual([
        ['b1', 2, true],
        ['earlier', 1, false],
        ['b2', 3, true],
        ['b1', 2, false],
        ['b3', 4, true],
      ]);
      expect(results[1]!.message.id).toBe(earlier.message.id);
      expect(results[3]!.message.id).toBe(results[0]!.message.id);
      const page = await store.page(room, { limit: 10 });
      expect(page.messages.map((m) => m.seq)).toEqual([4, 3, 2, 1]);
      expect(await store.findById(room, results[4]!.message.id)).toMatchObject({ content: 'b3', seq: 4, version: 1 });
      // A batch of resends only stores nothing and takes no number.
      const again = await store.createMany([message(room, user, { clientMessageId: 'b1' }), message(room, other, { clientMessageId: 'b1' })]);
      expect(again.map((o) => o.ok && !o.result.created && o.result.message.seq)).toEqual([2, 3]);
      expect((await store.create(message(room, user))).message.seq).toBe(5);
    });

    it('numbers a batch over several rooms per room, in input order', async () => {
      const [a, b, user] = [await fx.newRoom(), await fx.newRoom(), await fx.newUser()];
      await store.create(message(b, user, { content: 'b0' }));
      const outcomes = await store.createMany([
        message(a, user, { content: 'a1', clientMessageId: 'x' }),
        message(b, user, { content: 'b1', clientMessageId: 'x' }),
        message(a, user, { content: 'a2' }),
        message(b, user, { content: 'b2' }),
      ]);
      expect(outcomes.map((o) => o.ok && [o.result.message.roomId, o.result.message.content, o.result.message.seq, o.result.created])).toEqual([
        [a, 'a1', 1, true],
        [b, 'b1', 2, true],
        [a, 'a2', 2, true],
        [b, 'b2', 3, true],
      ]);
      expect((await store.page(b, { limit: 10 })).messages.map((m) => m.content)).toEqual(['b2', 'b1', 'b0']);
    });

    it('gives concurrent batches and single sends to one room gapless, distinct seqs', async () => {
      const [room, user] = [await fx.newRoom(), await fx.newUser()];
      const batches = Array.from({ length: 6 }, (_, b) =>
        store.createMany(Array.from({ length: 5 }, (_, i) => message(room, user, { content: `batch ${b} ${i}`, clientMessageId: `c${b}-${i % 4}` }))),
      );
      const singles = Array.from({ length: 5 }, (_, i) => store.create(message(room, user, { content: `single ${i}` })));
      const outcomes = (await Promise.all(batches)).flat();
      await Promise.all(singles);
      expect(outcomes.every((o) => o.ok)).toBe(true);
      const page = await store.page(room, { limit: 100 });
      // 6 batches x 4 distinct ids + 5 singles.
      expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 29 }, (_, i) => 29 - i));
      for (let b = 0; b < 6; b += 1) {
        const mine = page.messages.filter((m) => m.content?.startsWith(`batch ${b} `)).map((m) => m.seq).sort((x, y) => x - y);
        expect(mine).toHaveLength(4);
        // One batch, one range: its messages are consecutive.
        expect(mine[3]! - mine[0]!).toBe(3);
      }
    });

    it('pages newest first with opaque cursors, no gaps and no duplicates', async () => {
      const [room, user] = [await fx.newRoom(), await fx.newUser()];
      const created = await seed(room, user, Array.from({ length: 7 }, (_, i) => `m${i}`));
      const first = await store.page(room, { limit: 3 });
      expect(first.messages.map((m) => m.content)).toEqual(['m6', 'm5', 'm4']);
      expect(first.hasMore).toBe(true);
      expect(first.nextCursor).toEqual(expect.any(String));
      expect(first.nextCursor).toBe(cursorFor(first.messages[2]!));
      const second = await store.page(room, { limit: 3, beforeSeq: parseCursor(first.nextCursor!) });
      expect(second.messages.map((m) => m.content)).toEqual(['m3', 'm2', 'm1']);
      const third = await store.page(room, { limit: 3, beforeSeq: parseCursor(second.nextCursor!) });
      expect(third.messages.map((m) => m.content)).toEqual(['m0']);
      expect(third).toMatchObject({ hasMore: false, nextCursor: null });
      const exact = await store.page(room, { limit: 7 });
      expect(exact).toMatchObject({ hasMore: false, nextCursor: null });
      expect(exact.messages.map((m) => m.id)).toEqual([...created].reverse().map((m) => m.id));
      expect(exact.messages.map(comparable)).toEqual([...created].reverse());
      // seq is the room's 1, 2, 3, ... in send order, and the page order.
      expect(exact.messages.map((m) => m.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
      expect(created.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const keys = exact.messages.map((m) => sortKey(m));
      expect([...keys].sort().reverse()).toEqual(keys);
      expect((await store.page(await fx.newRoom(), { limit: 10 })).messages).toEqual([]);
    });

    it('refuses cursors it did not issue', () => {
      const forged = [
        'garbage!',
        'bm90IGpzb24',
        Buffer.from('[1,2]').toString('base64url'),
        Buffer.from('{"i":"x","t":"y","z":1}').toString('base64url'),
        Buffer.from('{"s":0}').toString('base64url'),
        Buffer.from('{"s":"3"}').toString('base64url'),
        Buffer.from('{"s":1.5}').toString('base64url'),
        Buffer.from('{}').toString('base64url'),
        'a'.repeat(500),
      ];
      for (const before of forged) expect(() => parseCursor(before)).toThrow(InvalidCursorError);
      expect(parseCursor(cursorFor({ seq: 42 }))).toBe(42);
    });

    it('numbers each room 1, 2, 3, ... under concurrency: no gap, no duplicate, rooms apart', async () => {
      const [r1, r2, u1, u2] = [await fx.newRoom(), await fx.newRoom(), await fx.newUser(), await fx.newUser()];
      const sends = Array.from({ length: 60 }, (_, i) => store.create(message(i % 2 ? r1 : r2, i % 3 ? u1 : u2, { content: `c${i}` })));
      const results = await Promise.all(sends);
      for (const room of [r1, r2]) {
        const seqs = results.filter((r) => r.message.roomId === room).map((r) => r.message.seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      }
      // A resend takes no number: the next message continues without a gap.
      const first = await store.create(message(r1, u1, { clientMessageId: 'once' }));
      const again = await store.create(message(r1, u1, { clientMessageId: 'once' }));
      expect(again).toMatchObject({ created: false, message: { id: first.message.id, seq: 31 } });
      expect((await store.create(message(r1, u2))).message.seq).toBe(32);
      expect((await store.findById(r1, first.message.id))?.seq).toBe(31);
    });

    it('edits live messages only, and soft-deletes keeping the place', async () => {
      const [room, user] = [await fx.newRoom(), await fx.newUser()];
      const [a, b, c] = await seed(room, user, ['a', 'b', 'c']);
      const at = new Date(Date.now() + 1000);
      const edited = await store.editContent(room, b!.id, 'b2', at);
      expect(edited).toMatchObject({ id: b!.id, content: 'b2', isEdited: true, isDeleted: false });
      expect(edited?.editedAt?.getTime()).toBe(at.getTime());
      expect(edited?.createdAt.getTime()).toBe(b!.createdAt.getTime());

      const deleted = await store.softDelete(room, b!.id, new Date());
      expect(deleted).toMatchObject({ id: b!.id, content: null, attachmentUrl: null, isDeleted: true });
      expect(await store.editContent(room, b!.id, 'again', new Date())).toBeNull();
      expect(await store.softDelete(room, b!.id, new Date())).toMatchObject({ isDeleted: true });
      const page = await store.page(room, { limit: 10 });
      expect(page.messages.map((m) => [m.id, m.content])).toEqual([
        [c!.id, 'c'],
        [b!.id, null],
        [a!.id, 'a'],
      ]);
    });

    it('toggles reactions per user and kind', async () => {
      const [room, author, u1, u2] = [await fx.newRoom(), await fx.newUser(), await fx.newUser(), await fx.newUser()];
      const [m] = await seed(room, author, ['react to me']);
      await store.toggleReaction(room, m!.id, u2, 'like');
      await store.toggleReaction(room, m!.id, u1, 'like');
      const both = await store.toggleReaction(room, m!.id, u1, 'love');
      expect(both?.reactions).toEqual({ like: [u1, u2].sort((x, y) => x - y), love: [u1] });
      const removed = await store.toggleReaction(room, m!.id, u1, 'like');
      expect(removed?.reactions).toEqual({ like: [u2], love: [u1] });
      const none = await store.toggleReaction(room, m!.id, u1, 'love');
      expect(none?.reactions).toEqual({ like: [u2] });
      expect((await store.findById(room, m!.id))?.reactions).toEqual({ like: [u2] });
      expect(await store.toggleReaction(await fx.newRoom(), m!.id, u1, 'like')).toBeNull();
    });

    it('versions every change: 1 on create, +1 per edit, deletion and reaction toggle', async () => {
      const [room, author, u1] = [await fx.newRoom(), await fx.newUser(), await fx.newUser()];
      const [m] = await seed(room, author, ['v1']);
      expect(m!.version).toBe(1);
      expect((await store.editContent(room, m!.id, 'v2', new Date()))?.version).toBe(2);
      expect((await store.toggleReaction(room, m!.id, u1, 'like'))?.version).toBe(3);
      expect((await store.toggleReaction(room, m!.id, u1, 'like'))?.version).toBe(4);
      expect((await store.editContent(room, m!.id, 'v5', new Date()))?.version).toBe(5);
      expect(await store.findById(room, m!.id)).toMatchObject({ content: 'v5', version: 5, reactions: {} });
      expect((await store.softDelete(room, m!.id, new Date()))?.version).toBe(6);
      // Nothing changes any more: no new version.
      expect(await store.editContent(room, m!.id, 'again', new Date())).toBeNull();
      expect((await store.softDelete(room, m!.id, new Date()))?.version).toBe(6);
      // Unknown messages and other rooms leave it alone.
      expect(await store.toggleReaction(await fx.newRoom(), m!.id, u1, 'like')).toBeNull();
      expect((await store.findById(room, m!.id))?.version).toBe(6);
      // Every read path carries it.
      expect((await store.page(room, { limit: 5 })).messages[0]?.version).toBe(6);
      expect((await store.summarize([{ roomId: room, userId: u1, lastReadSeq: 0, lastReadMessageId: null, since: new Date(0) }])).get(room)?.lastMessage?.version).toBe(6);
      const [live] = await seed(room, author, ['findable']);
      await store.editContent(room, live!.id, 'findable, edited', new Date());
      expect((await store.search(room, 'findable', 5))[0]?.version).toBe(2);
      // A repeated client_message_id returns the first message with its current version.
      const first = await store.create(message(room, author, { clientMessageId: 'versioned' }));
      await store.toggleReaction(room, first.message.id, u1, 'sad');
      expect((await store.create(message(room, author, { clientMessageId: 'versioned' }))).message.version).toBe(2);
    });

    it('gives concurrent changes distinct versions, each returned with the state it made', async () => {
      const [room, author] = [await fx.newRoom(), await fx.newUser()];
      const users = await Promise.all(Array.from({ length: 8 }, () => fx.newUser()));
      const [m] = await seed(room, author, ['contended']);
      const results = await Promise.all([
        ...users.map((u) => store.toggleReaction(room, m!.id, u, 'like')),
        ...users.map((u) => store.toggleReaction(room, m!.id, u, 'love')),
        ...Array.from({ length: 6 }, (_, i) => store.editContent(room, m!.id, `edit ${i}`, new Date())),
      ]);
      const versions = results.map((r) => r?.version);
      expect([...versions].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(results.map((_, i) => i + 2));
      const final = await store.findById(room, m!.id);
      expect(final?.version).toBe(results.length + 1);
      expect(final?.reactions).toEqual({ like: [...users].sort((a, b) => a - b), love: [...users].sort((a, b) => a - b) });
      // The result carrying the highest version is exactly what is stored.
      expect(results.find((r) => r?.version === final?.version)).toEqual(final);
      // Each toggle's result shows its own user's reaction (it made it, nobody removed it since).
      users.forEach((u, i) => {
        expect(results[i]?.reactions.like).toContain(u);
        expect(results[users.length + i]?.reactions.love).toContain(u);
      });
      // Two toggles of one user's same reaction at once: one adds, one removes, never an error.
      const [x, y] = await Promise.all([store.toggleReaction(room, m!.id, author, 'sad'), store.toggleReaction(room, m!.id, author, 'sad')]);
      expect([x?.version ?? 0, y?.version ?? 0].sort((a, b) => a - b)).toEqual([results.length + 2, results.length + 3]);
      expect((await store.findById(room, m!.id))?.reactions.sad).toBeUndefined();
    });

    it('searches one room, case-insensitively, by substring, never deleted messages', async () => {
      const [room, other, user] = [await fx.newRoom(), await fx.newRoom(), await fx.newUser()];
      const [hello, , korean, percent, under, gone] = await seed(room, user, [
        'Hello World',
        'nothing here',
        '오늘 회의는 3시입니다',
        '100% sure',
        'snake_case name',
        'hello again, soon deleted',
        '🎉 party',
      ]);
      await seed(other, user, ['hello from another room']);
      await store.softDelete(room, gone!.id, new Date());

      const ids = async (text: string) => (await store.search(room, text, 50)).map((m) => m.id);
      expect(await ids('HELLO')).toEqual([hello!.id]);
      expect(await ids('lo wor')).toEqual([hello!.id]);
      expect(await ids('회의')).toEqual([korean!.id]);
      expect(await ids('%')).toEqual([percent!.id]);
      expect(await ids('_')).toEqual([under!.id]);
      expect(await ids('e_c')).toEqual([under!.id]);
      expect(await ids('.*')).toEqual([]);
      expect(await ids('😀')).toEqual([]);
      expect(await ids('🎉')).toHaveLength(1);
      expect(await ids('soon deleted')).toEqual([]);
      expect(await ids('absent')).toEqual([]);

      await seed(room, user, ['hello 1', 'hello 2', 'hello 3']);
      const limited = await store.search(room, 'hello', 2);
      expect(limited.map((m) => m.content)).toEqual(['hello 3', 'hello 2']);
    });

    it('summarizes many rooms at once: last message and unread count', async () => {
      const [r1, r2, r3, me, other] = [await fx.newRoom(), await fx.newRoom(), await fx.newRoom(), await fx.newUser(), await fx.newUser()];
      const since = new Date(Date.now() - 60_000);
      const [o1, , o3] = await seed(r1, other, ['o1', 'o2', 'o3']);
      await seed(r1, me, ['mine']);
      const [, deleted] = await seed(r1, other, ['o4', 'o5']);
      await store.softDelete(r1, deleted!.id, new Date());
      const [last2] = await seed(r2, other, ['only']);

      const summaries = await store.summarize([
        { roomId: r1, userId: me, lastReadSeq: o1!.seq, lastReadMessageId: o1!.id, since },
        { roomId: r2, userId: me, lastReadSeq: 0, lastReadMessageId: null, since },
        { roomId: r3, userId: me, lastReadSeq: 0, lastReadMessageId: null, since },
      ]);
      // After o1: o2, o3, o4 from the other user (mine and the deleted o5 do not count).
      expect(summaries.get(r1)?.unreadCount).toBe(3);
      expect(summaries.get(r1)?.lastMessage).toMatchObject({ id: deleted!.id, isDeleted: true, content: null });
      const summary2 = summaries.get(r2);
      expect(summary2 && { ...summary2, lastMessage: comparable(summary2.lastMessage) }).toEqual({ lastMessage: last2, unreadCount: 1 });
      expect(summaries.get(r3)).toEqual({ lastMessage: null, unreadCount: 0 });

      const later = await store.summarize([{ roomId: r1, userId: me, lastReadSeq: o3!.seq, lastReadMessageId: o3!.id, since }]);
      expect(later.get(r1)?.unreadCount).toBe(1);
      // Messages from before I joined are never unread.
      const joinedNow = await store.summarize([{ roomId: r1, userId: me, lastReadSeq: 0, lastReadMessageId: null, since: new Date(Date.now() + 60_000) }]);
      expect(joinedNow.get(r1)?.unreadCount).toBe(0);
      expect(await store.summarize([])).toEqual(new Map());
    });

    it('deletes every message of a room and nothing else', async () => {
      const [room, other, user] = [await fx.newRoom(), await fx.newRoom(), await fx.newUser()];
      await seed(room, user, ['a', 'b']);
      await seed(other, user, ['c']);
      await store.deleteRoom(room);
      expect((await store.page(room, { limit: 10 })).messages).toEqual([]);
      expect((await store.page(other, { limit: 10 })).messages).toHaveLength(1);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

/**
 * A message as read back, comparable with one as created: the `times` a read may carry (MySQL
 * reads dates as text) must say what its Dates say, and are then left out.
 */
function comparable(message: StoredMessage | null): StoredMessage | null {
  if (!message?.times) return message;
  expect(message.times).toEqual({ createdAt: message.createdAt.toISOString(), editedAt: message.editedAt?.toISOString() ?? null });
  const { times: _times, ...rest } = message;
  return rest;
}
