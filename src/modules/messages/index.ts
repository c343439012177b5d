import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import messageRoutes from './message.routes.ts';
import { MessageService } from './message.service.ts';
import { RecentMessagesCache } from './recent-messages.cache.ts';
import { openMessageStore } from './store/index.ts';
import { type MessageStore, sortKey } from './store/message-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    messages: { service: MessageService; cache: RecentMessagesCache };
    /** Where messages live (MongoDB or MySQL); only the messages module calls it. */
    messageStore: MessageStore;
  }
}

/** Messages over REST at /api/messages, stored in MongoDB or MySQL behind one MessageStore. */
async function messagesModule(app: FastifyInstance): Promise<void> {
  const store = await openMessageStore(app);
  const cache = new RecentMessagesCache(app.redis, sortKey);
  const service = new MessageService(
    store,
    app.rooms.service,
    app.relationships,
    cache,
    app.events,
    app.log.child({ module: 'messages' }),
    app.attachments.service,
  );
  app.rooms.service.attachMessages(service);
  app.addHook('onClose', async () => service.close());
  app.events.keepInRoomHistory('message_created', 'message_updated', 'message_deleted', 'reaction_changed', 'read_updated');
  app.decorate('messageStore', store);
  app.decorate('messages', { service, cache });
  await app.register(messageRoutes, { prefix: '/api/messages' });
}

export default fp(messagesModule, { name: 'messages', dependencies: ['auth', 'users', 'events', 'rooms', 'mongodb', 'attachments'] });
