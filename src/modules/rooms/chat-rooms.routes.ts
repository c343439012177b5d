import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import {
  directRoomBody,
  listQuery,
  roomEnvelope,
  roomList,
  roomParams,
  roomSettingsBody,
  roomSettingsSchema,
  unreadSummarySchema,
} from './room.schemas.ts';
import { bindRoomLog } from '../../lib/room-log.ts';

const tags = ['rooms'];

/** /api/chat-rooms: direct rooms, and the list of all my rooms. */
const chatRoomsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', bindRoomLog);

  /** Counts one room created by `userId` (ROOM_CREATE_PER_HOUR, with group creation); 429 beyond. */
  const takeRoomCreation = async (userId: number): Promise<void> => {
    const limit = await app.abuseLimits.roomCreation(userId);
    if (!limit.allowed) throw limit.error;
  };

  app.post('', {
    schema: {
      tags,
      summary: 'Open the direct room with a user (201 new, 200 existing; 403 when blocked)',
      description: 'The one direct room between you and `user_id`: created on first use (201), returned as it is afterwards (200); there is never more than one per pair. 403 when either of you blocked the other; 404 for unknown users. New rooms count against `ROOM_CREATE_PER_HOUR`.',
      security: BEARER_SECURITY,
      body: directRoomBody,
      response: { 200: roomEnvelope, 201: roomEnvelope, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    const { userId } = requireAuth(request);
    // Only a room about to be created counts against ROOM_CREATE_PER_HOUR; an existing one opens freely.
    const { room, created } = await app.rooms.service.openDirect(userId, request.body.user_id, {
      beforeCreate: () => takeRoomCreation(userId),
    });
    return reply.code(created ? 201 : 200).send({ room });
  });

  app.get('', {
    schema: {
      tags,
      summary: 'My rooms, direct and group, newest activity first, with last message and unread count',
      description: 'Every room you are in, direct and group, the most recently active first, each with its members, `last_message` and your `unread_count`; paginated with `limit` and `offset`.',
      security: BEARER_SECURITY,
      querystring: listQuery,
      response: { 200: roomList, ...errorResponses(400, 401) },
    },
  }, async (request) => app.rooms.service.listMine(requireAuth(request).userId, undefined, request.query));

  // A static segment: Fastify's router prefers it to `/:room_id`, so "unread" never reaches the id validation.
  app.get('/unread', {
    schema: {
      tags,
      summary: 'My unread message counts: the total and each room with unread messages',
      description: 'One call for all my rooms: `total`, and `rooms` with `unread_count` for each room that has unread messages (messages of others after my read pointer, since I joined).',
      security: BEARER_SECURITY,
      response: { 200: unreadSummarySchema, ...errorResponses(401) },
    },
  }, async (request) => app.rooms.service.unreadSummary(requireAuth(request).userId));

  app.patch('/:room_id/settings', {
    schema: {
      tags,
      summary: 'My settings of a room: muted rooms raise no message notifications (members only)',
      description: 'Mute or unmute a room for me: a muted room raises no `message` notifications (mentions still do). 404 for unknown rooms, 403 for non-members.',
      security: BEARER_SECURITY,
      params: roomParams,
      body: roomSettingsBody,
      response: { 200: roomSettingsSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => app.rooms.service.setMuted(requireAuth(request).userId, request.params.room_id, request.body.muted));

  app.get('/:room_id', {
    schema: {
      tags,
      summary: 'A room I am in (404 for non-members)',
      description: 'The room with its members, last message and your unread count. 404 when it does not exist or you are not a member.',
      security: BEARER_SECURITY,
      params: roomParams,
      response: { 200: roomEnvelope, ...errorResponses(400, 401, 404) },
    },
  }, async (request) => ({ room: await app.rooms.service.get(requireAuth(request).userId, request.params.room_id) }));
};

export default chatRoomsRoutes;
