import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import notificationsRoutes from './notifications.routes.ts';
import { NotificationService } from './notifications.service.ts';
import { NotificationStore } from './notifications.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    notifications: { service: NotificationService };
  }
}

/**
 * Notifications at /api/notifications, raised from friends', messages' and rooms' domain
 * events. Nothing here knows sockets: the chat module tells who is connected to a room
 * (`service.useRoomPresence`) and delivers `notification_changed` / `notifications_read`.
 */
async function notificationsModule(app: FastifyInstance): Promise<void> {
  const service = new NotificationService({
    store: new NotificationStore(app.db, app.mysqlPool),
    rooms: app.rooms.service,
    relationships: app.relationships,
    redis: app.redis,
    events: app.events,
    log: app.log.child({ module: 'notifications' }),
  });
  let unsubscribe: (() => void) | undefined;
  let unsubscribeOwn: (() => void) | undefined;
  app.addHook('onReady', async () => {
    unsubscribeOwn = app.events.onOwnPublished((event) => service.handleOwn(event));
    unsubscribe = await app.events.subscribe((event) => service.handle(event));
  });
  // Before the database and Redis clients close: let the events already taken finish.
  app.addHook('preClose', async () => {
    unsubscribeOwn?.();
    unsubscribe?.();
    await service.drain();
  });
  app.decorate('notifications', { service });
  await app.register(notificationsRoutes, { prefix: '/api/notifications' });
}

export default fp(notificationsModule, { name: 'notifications', dependencies: ['auth', 'users', 'events', 'rooms', 'messages'] });
