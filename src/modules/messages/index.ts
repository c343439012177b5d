import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import messageRoutes from './message.routes.ts';
import { MessageService } from './message.service.ts';
import { RecentMessagesCache } from './recent-messages.cache.ts';

declare module 'fastify' {
  interface FastifyInstance {
    messages: { service: MessageService; cache: RecentMessagesCache };
  }
}

/** Messages over REST at /api/messages, stored in app.messageStore (MongoDB or MySQL). */
async function messagesModule(app: FastifyInstance): Promise<void> {
  const store = app.messageStore;
  const cache = new RecentMessagesCache(app.redis, (message) =>
    store.sortKey({ id: message.id, createdAt: new Date(message.created_at) }),
  );
  const service = new MessageService(
    store,
    app.rooms.service,
    app.rooms.store,
    app.relationships,
    cache,
    app.events,
    app.log.child({ module: 'messages' }),
  );
  app.rooms.service.onRoomDeleted((roomId) => service.purgeRoom(roomId));
  app.decorate('messages', { service, cache });
  await app.register(messageRoutes, { prefix: '/api/messages' });
}

export default fp(messagesModule, { name: 'messages', dependencies: ['auth', 'users', 'events', 'rooms', 'message-store'] });
