import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryView, MessageView } from '../../src/modules/messages/message.schemas.ts';
import { toMessageView } from '../../src/modules/messages/message.view.ts';
import { LIST_TTL_S, RECENT_CACHE_SIZE, recentKey } from '../../src/modules/messages/recent-messages.cache.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { sleep } from '../helpers/faults.ts';
import { createGroup, makeUsers, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

async function history(user: TestUser, roomId: number, query = ''): Promise<HistoryView> {
  const res = await app.inject({ url: `/api/messages/${roomId}${query}`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** The first page straight from the message store, bypassing Redis. */
async function uncached(roomId: number, limit: number): Promise<HistoryView> {
  const page = await app.messageStore.page(roomId, { limit });
  return { messages: page.messages.map(toMessageView), next_cursor: page.nextCursor, has_more: page.hasMore };
}

async function roomWith(count: number) {
  const [owner, member] = await makeUsers(app, 2, 'cache');
  const room = await createGroup(app, owner!, { member_ids: [member!.id] });
  const sent: MessageView[] = [];
  for (let i = 0; i < count; i += 1) sent.push(await send(app, i % 3 ? owner! : member!, room.id, `message ${i} 🙂`));
  return { owner: owner!, member: member!, roomId: room.id, sent };
}

const cachedLength = (roomId: number) => app.redis.llen(recentKey(roomId));

describe('recent messages cache (room:{id}:recent)', () => {
  it('serves a first page equal to the uncached page, for every limit up to 20', async () => {
    const { owner, member, roomId, sent } = await roomWith(27);
    // Reactions, edits and deletions are part of what must match.
    await app.inject({ method: 'POST', url: `/api/messages/${roomId}/${sent[26]!.id}/reactions`, headers: member.auth, payload: { reaction: 'love' } });
    await app.inject({ method: 'PUT', url: `/api/messages/${roomId}/${sent[25]!.id}`, headers: owner.auth, payload: { content: 'edited' } });
    await app.inject({ method: 'DELETE', url: `/api/messages/${roomId}/${sent[24]!.id}`, headers: member.auth });

    expect(await app.redis.exists(recentKey(roomId))).toBe(0);
    const filled = await history(member, roomId, '?limit=20');
    expect(await cachedLength(roomId)).toBe(RECENT_CACHE_SIZE + 1);
    expect(filled).toEqual(await uncached(roomId, 20));
    for (const limit of [1, 2, 7, 19, 20]) {
      const fromCache = await history(member, roomId, `?limit=${limit}`);
      expect(fromCache, `limit=${limit}`).toEqual(await uncached(roomId, limit));
      expect(fromCache.has_more).toBe(true);
      // The cursor of a cached page continues exactly where the store would.
      const next = await history(member, roomId, `?limit=${limit}&before=${fromCache.next_cursor}`);
      const all = await uncached(roomId, 100);
      expect(next.messages).toEqual(all.messages.slice(limit, 2 * limit));
    }
  });

  it('is correct for rooms with fewer messages than the cache holds', async () => {
    const { member, roomId } = await roomWith(3);
    for (const limit of [2, 3, 20]) {
      const first = await history(member, roomId, `?limit=${limit}`);
      const second = await history(member, roomId, `?limit=${limit}`);
      expect(second).toEqual(first);
      expect(second).toEqual(await uncached(roomId, limit));
    }
    expect(await cachedLength(roomId)).toBe(3);
    expect((await history(member, roomId, '?limit=3')).has_more).toBe(false);
    expect((await history(member, roomId, '?limit=2')).has_more).toBe(true);
    // An empty room caches nothing and answers an empty page.
    const [lonely] = await makeUsers(app, 1, 'cache');
    const empty = await createGroup(app, lonely!);
    expect(await history(lonely!, empty.id, '?limit=10')).toEqual({ messages: [], next_cursor: null, has_more: false });
  });

  it('writes new messages through and stays equal to the store', async () => {
    const { owner, member, roomId } = await roomWith(22);
    await history(member, roomId, '?limit=10');
    expect(await cachedLength(roomId)).toBe(RECENT_CACHE_SIZE + 1);
    const fresh = await send(app, owner, roomId, 'written through');
    expect(await cachedLength(roomId)).toBe(RECENT_CACHE_SIZE + 1);
    const head = await app.redis.lindex(recentKey(roomId), 0);
    expect(head).toContain(fresh.id);
    expect(await history(member, roomId, '?limit=20')).toEqual(await uncached(roomId, 20));
  });

  it('drops the list on edit, delete and reaction; the next read fills it again', async () => {
    const { owner, member, roomId, sent } = await roomWith(5);
    const target = sent[4]!;
    const fill = async () => {
      await history(member, roomId, '?limit=5');
      expect(await app.redis.exists(recentKey(roomId))).toBe(1);
    };
    await fill();
    await app.inject({ method: 'PUT', url: `/api/messages/${roomId}/${target.id}`, headers: target.user_id === owner.id ? owner.auth : member.auth, payload: { content: 'changed' } });
    expect(await app.redis.exists(recentKey(roomId))).toBe(0);
    expect((await history(member, roomId, '?limit=5')).messages[0]).toMatchObject({ content: 'changed', is_edited: true });

    await fill();
    await app.inject({ method: 'POST', url: `/api/messages/${roomId}/${target.id}/reactions`, headers: owner.auth, payload: { reaction: 'like' } });
    expect(await app.redis.exists(recentKey(roomId))).toBe(0);
    expect((await history(member, roomId, '?limit=5')).messages[0]?.reactions).toEqual({ like: [owner.id] });

    await fill();
    await app.inject({ method: 'DELETE', url: `/api/messages/${roomId}/${target.id}`, headers: owner.auth });
    expect(await app.redis.exists(recentKey(roomId))).toBe(0);
    expect((await history(member, roomId, '?limit=5')).messages[0]).toMatchObject({ content: null, is_deleted: true });
    expect(await history(member, roomId, '?limit=5')).toEqual(await uncached(roomId, 5));
  });

  it('never caches a read that a concurrent write overtook', async () => {
    const { owner, roomId } = await roomWith(4);
    // The reader loads from the store, then a message arrives before the reader fills the list.
    const page = await app.messages.cache.firstPage(roomId, 10, async (count) => {
      const stale = await uncached(roomId, count);
      await send(app, owner, roomId, 'overtaking');
      return { messages: stale.messages, hasMore: stale.has_more };
    });
    expect(page.messageJson).toHaveLength(4);
    expect(await app.redis.exists(recentKey(roomId))).toBe(0);
    const next = await history(owner, roomId, '?limit=10');
    expect(next.messages[0]?.content).toBe('overtaking');
    expect(next).toEqual(await uncached(roomId, 10));
  });

  it('cannot hide a message whose write-through was lost: pushes never extend the list, which expires', async () => {
    const { owner, member, roomId } = await roomWith(3);
    await history(member, roomId, '?limit=20');
    const filledTtl = await app.redis.pttl(recentKey(roomId));
    expect(filledTtl).toBeGreaterThan(0);
    expect(filledTtl).toBeLessThanOrEqual(LIST_TTL_S * 1000);
    // What a process that died between storing and pushing leaves behind: stored, not in the list.
    const lost = await app.messageStore.create({
      roomId,
      userId: owner.id,
      content: 'stored, write-through lost',
      messageType: 'text',
      attachmentUrl: null,
      replyTo: null,
      clientMessageId: null,
    });
    // The list nears the end of the life its fill gave it, while newer messages keep being written through.
    await app.redis.pexpire(recentKey(roomId), 700);
    for (let i = 0; i < 6; i += 1) {
      await send(app, owner, roomId, `after the lost one ${i}`);
      expect(await app.redis.pttl(recentKey(roomId))).toBeLessThanOrEqual(700);
      await sleep(200);
    }
    const page = await history(member, roomId, '?limit=20');
    expect(page.messages.map((m) => m.id)).toContain(lost.message.id);
    expect(page).toEqual(await uncached(roomId, 20));
  });

  it('drops the list rather than misplace a message older than its head', async () => {
    const { owner, roomId, sent } = await roomWith(3);
    await history(owner, roomId, '?limit=5');
    // A message written out of order (committed after a newer one was pushed).
    await app.redis.lpop(recentKey(roomId));
    await app.redis.lpop(recentKey(roomId));
    await app.messages.cache.push(sent[1]!);
    expect(await app.redis.lrange(recentKey(roomId), 0, -1)).toEqual([expect.stringContaining(sent[1]!.id), expect.stringContaining(sent[0]!.id)]);
    await app.messages.cache.push(sent[2]!);
    await app.messages.cache.push(sent[1]!);
    expect(await cachedLength(roomId)).toBe(3);
    await app.redis.lrem(recentKey(roomId), 0, (await app.redis.lindex(recentKey(roomId), 1))!);
    await app.messages.cache.push(sent[1]!);
    expect(await app.redis.exists(recentKey(roomId))).toBe(0);
  });
});

describe('paging under concurrent writes', () => {
  it('returns every one of 1,000 older messages exactly once while a writer keeps adding', async () => {
    const { owner, member, roomId } = await roomWith(0);
    const older: string[] = [];
    for (let batch = 0; batch < 20; batch += 1) {
      const created = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          app.messageStore.create({
            roomId,
            userId: owner.id,
            content: `bulk ${batch * 50 + i}`,
            messageType: 'text',
            attachmentUrl: null,
            replyTo: null,
            clientMessageId: null,
          }),
        ),
      );
      older.push(...created.map((c) => c.message.id));
    }
    expect(new Set(older).size).toBe(1000);

    let writing = true;
    const written: string[] = [];
    const writer = (async () => {
      while (writing) written.push((await send(app, member, roomId, `live ${written.length}`)).id);
    })();

    const seen: string[] = [];
    const seqs: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    try {
      do {
        const page: HistoryView = await history(member, roomId, `?limit=100${cursor ? `&before=${cursor}` : ''}`);
        seen.push(...page.messages.map((m) => m.id));
        seqs.push(...page.messages.map((m) => m.seq));
        cursor = page.next_cursor;
        pages += 1;
        expect(page.has_more).toBe(cursor !== null);
      } while (cursor);
    } finally {
      writing = false;
      await writer;
    }
    expect(written.length).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length);
    const olderSeen = seen.filter((id) => older.includes(id));
    expect(olderSeen).toHaveLength(1000);
    expect(pages).toBeGreaterThanOrEqual(10);
    // Newest first throughout, in either store.
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
  });
});
