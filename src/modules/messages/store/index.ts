import type { FastifyInstance } from 'fastify';
import type { MessageStore } from './message-store.ts';
import { MongoMessageStore } from './mongo-message.store.ts';
import { MysqlMessageStore } from './mysql-message.store.ts';

/** MongoDB when MONGODB_URL is set, MySQL otherwise; ready (indexes made) and closed with the app. */
export async function openMessageStore(app: FastifyInstance): Promise<MessageStore> {
  const store: MessageStore = app.mongo ? new MongoMessageStore(app.mongo) : new MysqlMessageStore(app.db, app.mysqlPool);
  await store.init();
  app.log.info({ messageStore: store.kind }, 'message store ready');
  app.addHook('onClose', async () => store.close());
  return store;
}
