import { describe, expect, it } from 'vitest';
import { MysqlMessageStore, reactionPairs } from '../../src/modules/messages/store/mysql-message.store.ts';
import { type App, createTestApp, uniqueName } from '../helpers/app.ts';
import { messageStoreContract } from './message-store.contract.ts';

messageStoreContract('MySQL (Prisma)', async () => {
  const app: App = await createTestApp();
  const store = new MysqlMessageStore(app.db, app.mysqlPool);
  await store.init();
  // Messages reference real rooms and users in MySQL.
  const newUser = async () => {
    const username = uniqueName('store');
    const user = await app.db.user.create({ data: { email: `${username}@example.com`, username, passwordHash: 'x' } });
    return user.id;
  };
  let owner: number | undefined;
  const newRoom = async () => {
    owner ??= await newUser();
    const room = await app.db.room.create({ data: { type: 'group', name: 'store test', createdBy: owner } });
    return room.id;
  };
  return { store, newRoom, newUser, close: () => app.close() };
});

describe('MySQL store: group commit with a failing message', () => {
  it('fails only the bad message of a batch; the others are stored without a gap', async () => {
    const app: App = await createTestApp();
    try {
      const store = new MysqlMessageStore(app.db, app.mysqlPool);
      const username = uniqueName('batch');
      const user = await app.db.user.create({ data: { email: `${username}@example.com`, username, passwordHash: 'x' } });
      const room = await app.db.room.create({ data: { type: 'group', name: 'batch', createdBy: user.id } });
      const message = (content: string, userId = user.id) => ({
        roomId: room.id,
        userId,
        content,
        messageType: 'text' as const,
        attachmentUrl: null,
        replyTo: null,
        clientMessageId: null,
      });
      // No such user: the foreign key refuses that row, and with it the batch's one INSERT.
      const outcomes = await store.createMany([message('a'), message('orphan', 2_000_000_000), message('b'), message('c')]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
      const seqs = outcomes.flatMap((o) => (o.ok ? [o.result.message.seq] : []));
      expect(seqs).toEqual([1, 2, 3]);
      const page = await store.page(room.id, { limit: 10 });
      expect(page.messages.map((m) => [m.content, m.seq])).toEqual([
        ['c', 3],
        ['b', 2],
        ['a', 1],
      ]);
    } finally {
      await app.close();
    }
  });
});

describe('MySQL history page: reactions from one GROUP_CONCAT', () => {
  it('reads whole lists and refuses lists cut at group_concat_max_len (so they are read again)', () => {
    expect(reactionPairs(null, 0)).toEqual([]);
    expect(reactionPairs('12:like,7:love', 2)).toEqual([{ userId: 12, reaction: 'like' }, { userId: 7, reaction: 'love' }]);
    // Cut inside a pair, at a pair's end (fewer than counted), or inside a user id.
    for (const [list, count] of [['12:like,7:lo', 2], ['12:like', 2], ['12:like,7', 2], [null, 3], ['12:like,7:', 2]] as const) {
      expect(reactionPairs(list, count)).toBeNull();
    }
  });
});
