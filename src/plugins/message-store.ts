import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { MessageStore } from '../modules/messages/store/message-store.ts';
import { MongoMessageStore } from '../modules/messages/store/mongo-message.store.ts';
import { MysqlMessageStore } from '../modules/messages/store/mysql-message.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    messageStore: MessageStore;
  }
}

/** MongoDB when MONGODB_URL is set, MySQL otherwise. */
async function messageStorePlugin(app: FastifyInstance): Promise<void> {
  const url = app.config.MONGODB_URL;
  const store: MessageStore = url ? new MongoMessageStore(url) : new MysqlMessageStore(app.db, app.mysqlPool);
  await store.init();
  app.log.info({ messageStore: store.kind }, 'message store ready');
  app.decorate('messageStore', store);
  app.addHook('onClose', async () => store.close());
}

export default fp(messageStorePlugin, { name: 'message-store', dependencies: ['prisma'] });
