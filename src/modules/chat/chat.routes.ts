import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import { roomIdParam } from '../rooms/room-id.ts';
import type { RoomOccupancyStore } from './room-occupancy.store.ts';

const roomParams = z.object({ room_id: roomIdParam });

const roomStatus = z
  .object({
    room_id: z.number().int(),
    state: z.enum(['active', 'idle', 'closed']),
    online_user_ids: z.array(z.number().int()),
  })
  .meta({ id: 'LiveRoomStatus', examples: [{ room_id: 10, state: 'active', online_user_ids: [1, 2] }] });

/**
 * WebSocket endpoints: the token is checked before the upgrade (401 JSON, no socket), and so is
 * the user's number of open sockets over all instances (429 JSON beyond MAX_SOCKETS_PER_USER).
 */
export const chatSocketRoutes: FastifyPluginAsyncZod = async (app) => {
  /**
   * Takes one of the user's socket slots for an upgrade request. The slot goes with the TCP
   * connection: it is freed when that closes, however it ends (a normal close, a failed
   * handshake, a client gone before the upgrade).
   */
  const takeSocketSlot = async (request: FastifyRequest): Promise<void> => {
    if (!request.ws) return;
    const slot = await app.abuseLimits.socket(requireAuth(request).userId);
    if (!slot.allowed) throw slot.error;
    const connection = request.raw.socket;
    // `on`, not `once`: release is idempotent, and once's wrapper would live as long as the socket.
    connection.on('close', slot.release);
    if (connection.destroyed) slot.release();
  };

  app.get('/ws/chat', { websocket: true, onRequest: app.authenticate, preHandler: takeSocketSlot, schema: { hide: true } }, (socket, request) => {
    app.chat.accept(socket, requireAuth(request), undefined, request.raw);
  });

  app.get('/ws/chat/:room_id', {
    websocket: true,
    onRequest: app.authenticate,
    preHandler: takeSocketSlot,
    schema: { hide: true, params: roomParams },
  }, (socket, request) => {
    app.chat.accept(socket, requireAuth(request), request.params.room_id, request.raw);
  });
};

export const chatStatusRoutes: FastifyPluginAsyncZod<{ occupancy: RoomOccupancyStore }> = async (app, { occupancy }) => {
  app.get('/rooms/:room_id/status', {
    onRequest: app.authenticate,
    schema: {
      tags: ['rooms'],
      summary: "A live room's state (active, idle, closed) and who is connected, over all instances",
      description: 'For members of the room (403 otherwise): `active` while someone is connected to it over WebSocket (on any instance), `idle` once the last one left, `closed` after `ROOM_IDLE_TIMEOUT_S` of idleness; `online_user_ids` lists who is connected now.',
      security: BEARER_SECURITY,
      params: roomParams,
      response: { 200: roomStatus, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const roomId = request.params.room_id;
    await app.rooms.service.currentMembership(requireAuth(request).userId, roomId);
    const { state, connectedUserIds } = await occupancy.state(roomId);
    return { room_id: roomId, state, online_user_ids: connectedUserIds };
  });
};
