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
  retryPurgesPeriodically(app, service);
  app.events.keepInRoomHistory('room_changed');
  app.decorate('rooms', { service });
  await app.register(chatRoomsRoutes, { prefix: '/api/chat-rooms' });
  await app.register(groupRoomsRoutes, { prefix: '/api/group-rooms' });
}

/** How often failed clean-ups of deleted rooms are retried, and how old one must be to be retried. */
export const PURGE_RETRY_EVERY_MS = 60_000;

function retryPurgesPeriodically(app: FastifyInstance, service: RoomService): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      service.retryPurges(PURGE_RETRY_EVERY_MS).catch((error: unknown) => app.log.warn({ err: error }, 'retrying room clean-ups failed'));
    }, PURGE_RETRY_EVERY_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}

export default fp(roomsModule, { name: 'rooms', dependencies: ['auth', 'users', 'events'] });
