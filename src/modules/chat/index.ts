import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ChatDispatcher } from './chat.dispatcher.ts';
import { ChatFanout } from './chat.fanout.ts';
import { ChatGateway } from './chat.gateway.ts';
import { asyncApiDocument } from './chat.asyncapi.ts';
import { chatSocketRoutes, chatStatusRoutes } from './chat.routes.ts';
import { chatStreamRoutes } from './chat-streams.routes.ts';
import { ChatStreams } from './chat-streams.service.ts';
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

/**
 * Real-time chat over WebSocket at /ws/chat, and its SSE fallback (/api/messages/stream/:room_id,
 * /api/events/stream), fanned out across instances by the event bus.
 */
async function chatModule(app: FastifyInstance, options: ChatModuleOptions): Promise<void> {
  const log = app.log.child({ module: 'chat' });
  const occupancy = new RoomOccupancyStore(app.redis, randomUUID(), ROOM_LEASE_S, app.config.ROOM_IDLE_TIMEOUT_S);
  app.notifications.service.useRoomPresence((roomId) => occupancy.connectedUserIds(roomId));
  const liveRooms = new RoomRegistry(app.config.ROOM_IDLE_TIMEOUT_S * 1000);
  const connections = new ConnectionRegistry();
  const streamRooms = new RoomRegistry(app.config.ROOM_IDLE_TIMEOUT_S * 1000);
  app.events.keepInRoomHistory('room_occupancy');
  const joins = new RoomJoins({ memberships: app.rooms.service, liveRooms, occupancy, events: app.events, history: app.events.history });
  const dispatcher = new ChatDispatcher({
    joins,
    messages: app.messages.service,
    events: app.events,
    limits: app.abuseLimits,
    presence: app.presenceHub,
    metrics: app.metrics,
  });
  const fanout = new ChatFanout({ events: app.events, liveRooms, streamRooms, connections, joins, log });
  const streams = new ChatStreams({
    joins,
    connections,
    streamRooms,
    history: app.events.history,
    rooms: app.rooms.service,
    presence: app.presenceHub,
    keepAliveMs: app.presenceHub.keepAliveMs,
    log,
  });
  const keepAliveMs = Math.min(30_000, (app.config.PRESENCE_TTL_S * 1000) / 3);
  const upkeep = new ChatUpkeep(
    { connections, liveRooms, occupancy, presence: app.presence, tokens: app.tokens, log },
    { pingIntervalMs: 30_000, keepAliveIntervalMs: keepAliveMs, ...options.timers },
  );
  const gateway = new ChatGateway({ connections, dispatcher, joins, upkeep, log });

  app.decorate('chat', gateway);
  app.metrics.gauge('chat_websocket_connections', () => connections.size);
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
  await app.register(chatStreamRoutes, { streams });
  if (app.config.DOCS_ENABLED) {
    let document: Record<string, unknown> | undefined;
    app.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => (document ??= asyncApiDocument()));
  }
}

export default fp(chatModule, { name: 'chat', dependencies: ['auth', 'abuse-limits', 'rooms', 'messages', 'notifications', 'presence', 'events', 'metrics'] });
