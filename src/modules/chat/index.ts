import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ChatGateway, type GatewayTimers } from './chat.gateway.ts';
import { chatSocketRoutes, chatStatusRoutes } from './chat.routes.ts';
import { RoomPresenceStore } from './room-presence.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    chat: ChatGateway;
  }
}

export interface ChatModuleOptions {
  timers?: Partial<GatewayTimers>;
}

const ROOM_LEASE_S = 90;

/** Real-time chat over WebSocket at /ws/chat, fanned out across instances by the event bus. */
async function chatModule(app: FastifyInstance, options: ChatModuleOptions): Promise<void> {
  const roomPresence = new RoomPresenceStore(app.redis, randomUUID(), ROOM_LEASE_S, app.config.ROOM_IDLE_TIMEOUT_S);
  const keepAliveMs = Math.min(30_000, (app.config.PRESENCE_TTL_S * 1000) / 3);
  const gateway = new ChatGateway(
    {
      rooms: app.rooms.service,
      messages: app.messages.service,
      presence: app.presence,
      tokens: app.tokens,
      events: app.events,
      roomPresence,
      log: app.log.child({ module: 'chat' }),
    },
    app.config.ROOM_IDLE_TIMEOUT_S * 1000,
    { pingIntervalMs: 30_000, keepAliveIntervalMs: keepAliveMs, ...options.timers },
  );
  app.decorate('chat', gateway);
  app.addHook('onReady', async () => gateway.start());
  app.addHook('preClose', async () => gateway.stop());
  await app.register(chatSocketRoutes);
  await app.register(chatStatusRoutes, { prefix: '/api/ws' });
}

export default fp(chatModule, { name: 'chat', dependencies: ['auth', 'rooms', 'messages', 'presence', 'events'] });
