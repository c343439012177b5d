import { MysqlMessageStore } from '../../src/modules/messages/store/mysql-message.store.ts';
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
