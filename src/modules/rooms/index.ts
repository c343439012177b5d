import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import chatRoomsRoutes from './chat-rooms.routes.ts';
import groupRoomsRoutes from './group-rooms.routes.ts';
import { MembershipCache } from './membership.cache.ts';
import { RoomService } from './room.service.ts';
import { RoomStore } from './room.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    rooms: { service: RoomService };
  }
}

/**
 * Direct and group rooms: /api/chat-rooms and /api/group-rooms. Rooms know nothing of messages:
 * the messages module attaches last messages, unread counts and clean-up (`attachMessages`).
 */
async function roomsModule(app: FastifyInstance): Promise<void> {
  const store = new RoomStore(app.db, app.mysqlPool);
  const service = new RoomService(
    store,
    app.users,
    app.relationships,
    app.events,
    app.log.child({ module: 'rooms' }),
    new MembershipCache(),
  );
  app.addHook('onReady', async () => {
    await app.events.subscribe((event) => {
      if (event.type === 'room_changed') service.forgetMemberships(event.room_id);
    });
  });
  app.decorate('rooms', { service });
  await app.register(chatRoomsRoutes, { prefix: '/api/chat-rooms' });
  await app.register(groupRoomsRoutes, { prefix: '/api/group-rooms' });
}

export default fp(roomsModule, { name: 'rooms', dependencies: ['auth', 'users', 'events'] });
