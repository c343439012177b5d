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
