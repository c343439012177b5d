import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ChatDispatcher } from './chat.dispatcher.ts';
import { ChatFanout } from './chat.fanout.ts';
import { ChatGateway } from './chat.gateway.ts';
import { chatSocketRoutes, chatStatusRoutes } from './chat.routes.ts';
import { ChatUpkeep, type UpkeepTimers } from './chat.upkeep.ts';
import { ConnectionRegistry } from './connection-registry.ts';
import { RoomJoins } from './room-joins.ts';
import { RoomOccupancyStore } from './room-occupancy.store.ts';
import { RoomRegistry } from './room-registry.ts';

declare module 'fastify' {
  interface FastifyInstance {
    chat: ChatGateway;
  }
}

export interface ChatModuleOptions {
  timers?: Partial<UpkeepTimers>;
}

const ROOM_LEASE_S = 90;

/** Real-time chat over WebSocket at /ws/chat, fanned out across instances by the event bus. */
async function chatModule(app: FastifyInstance, options: ChatModuleOptions): Promise<void> {
  const log = app.log.child({ module: 'chat' });
  const occupancy = new RoomOccupancyStore(app.redis, randomUUID(), ROOM_LEASE_S, app.config.ROOM_IDLE_TIMEOUT_S);
  app.notifications.service.useRoomPresence((roomId) => occupancy.connectedUserIds(roomId));
  const liveRooms = new RoomRegistry(app.config.ROOM_IDLE_TIMEOUT_S * 1000);
  const connections = new ConnectionRegistry();
  app.events.keepInRoomHistory('room_occupancy');
  const joins = new RoomJoins({ memberships: app.rooms.service, liveRooms, occupancy, events: app.events, history: app.events.history });
  const dispatcher = new ChatDispatcher({ joins, messages: app.messages.service, events: app.events, limits: app.abuseLimits });
  const fanout = new ChatFanout({ events: app.events, liveRooms, connections, joins, log });
  const keepAliveMs = Math.min(30_000, (app.config.PRESENCE_TTL_S * 1000) / 3);
  const upkeep = new ChatUpkeep(
    { connections, liveRooms, occupancy, presence: app.presence, tokens: app.tokens, log },
    { pingIntervalMs: 30_000, keepAliveIntervalMs: keepAliveMs, ...options.timers },
  );
  const gateway = new ChatGateway({ connections, dispatcher, joins, upkeep, log });

  app.decorate('chat', gateway);
  app.addHook('onReady', async () => {
    await fanout.start();
    upkeep.start();
  });
  app.addHook('preClose', async () => {
    upkeep.stop();
    fanout.stop();
    await gateway.closeAll();
  });
  await app.register(chatSocketRoutes);
  await app.register(chatStatusRoutes, { prefix: '/api/ws', occupancy });
}

export default fp(chatModule, { name: 'chat', dependencies: ['auth', 'abuse-limits', 'rooms', 'messages', 'presence', 'events'] });
