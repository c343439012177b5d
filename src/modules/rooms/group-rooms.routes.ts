import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, noContent } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import {
  addMemberBody,
  createGroupBody,
  groupListQuery,
  memberParams,
  nicknameBody,
  roleBody,
  roomEnvelope,
  roomParams,
  roomList,
  updateGroupBody,
} from './room.schemas.ts';
import { bindRoomLog } from '../../lib/room-log.ts';

const tags = ['rooms'];

/** /api/group-rooms: group rooms, their members and roles. */
const groupRoomsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', bindRoomLog);
  const rooms = app.rooms.service;

  /** Counts one room created by `userId` (ROOM_CREATE_PER_HOUR, with new direct rooms); 429 beyond. */
  const takeRoomCreation = async (userId: number): Promise<void> => {
    const limit = await app.abuseLimits.roomCreation(userId);
    if (!limit.allowed) throw limit.error;
  };

  app.post('', {
    schema: {
      tags,
      summary: 'Create a group room; I become its owner, member_ids join as members',
      security: BEARER_SECURITY,
      body: createGroupBody,
      response: { 201: roomEnvelope, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    const { userId } = requireAuth(request);
    const room = await rooms.createGroup(userId, request.body, { beforeCreate: () => takeRoomCreation(userId) });
    return reply.code(201).send({ room });
  });

  app.get('', {
    schema: {
      tags,
      summary: 'My group rooms; with discover=true, public rooms I am not in',
      security: BEARER_SECURITY,
      querystring: groupListQuery,
      response: { 200: roomList, ...errorResponses(400, 401) },
    },
  }, async (request) => {
    const { userId } = requireAuth(request);
    const { discover, limit, offset } = request.query;
    const page = { limit, offset };
    const discovering = discover === 'true' || discover === '1';
    return discovering ? rooms.discover(userId, page) : rooms.listMine(userId, 'group', page);
  });

  app.post('/:room_id/join', {
    schema: {
      tags,
      summary: 'Join a public room (private: 403, full: 409; already a member: 200, no change)',
      security: BEARER_SECURITY,
      params: roomParams,
      response: { 200: roomEnvelope, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => ({ room: await rooms.join(requireAuth(request).userId, request.params.room_id) }));

  app.post('/:room_id/leave', {
    schema: {
      tags,
      summary: 'Leave the room; an owner hands ownership to the oldest admin, else the oldest member',
      security: BEARER_SECURITY,
      params: roomParams,
      response: { 204: noContent, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await rooms.leave(requireAuth(request).userId, request.params.room_id);
    return reply.code(204).send(null);
  });

  app.patch('/:room_id', {
    schema: {
      tags,
      summary: 'Change name, description, privacy or max_members (owner or admin)',
      security: BEARER_SECURITY,
      params: roomParams,
      body: updateGroupBody,
      response: { 200: roomEnvelope, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => ({ room: await rooms.update(requireAuth(request).userId, request.params.room_id, request.body) }));

  app.delete('/:room_id', {
    schema: {
      tags,
      summary: 'Delete the room and its messages (owner only)',
      security: BEARER_SECURITY,
      params: roomParams,
      response: { 204: noContent, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await rooms.delete(requireAuth(request).userId, request.params.room_id);
    return reply.code(204).send(null);
  });

  app.post('/:room_id/members', {
    schema: {
      tags,
      summary: 'Add a member (owner or admin; only the owner adds admins)',
      security: BEARER_SECURITY,
      params: roomParams,
      body: addMemberBody,
      response: { 201: roomEnvelope, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const { user_id, role } = request.body;
    const room = await rooms.addMember(requireAuth(request).userId, request.params.room_id, user_id, role);
    return reply.code(201).send({ room });
  });

  app.patch('/:room_id/members/me', {
    schema: {
      tags,
      summary: 'Set my nickname in this room ("" resets it to my profile name)',
      security: BEARER_SECURITY,
      params: roomParams,
      body: nicknameBody,
      response: { 200: roomEnvelope, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({
    room: await rooms.setNickname(requireAuth(request).userId, request.params.room_id, request.body.nickname),
  }));

  app.delete('/:room_id/members/:user_id', {
    schema: {
      tags,
      summary: 'Remove a member (owner or admin; never the owner; admins only plain members)',
      security: BEARER_SECURITY,
      params: memberParams,
      response: { 204: noContent, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await rooms.removeMember(requireAuth(request).userId, request.params.room_id, request.params.user_id);
    return reply.code(204).send(null);
  });

  app.patch('/:room_id/members/:user_id/role', {
    schema: {
      tags,
      summary: "Make a member admin or member (owner only; not the owner's own role)",
      security: BEARER_SECURITY,
      params: memberParams,
      body: roleBody,
      response: { 200: roomEnvelope, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({
    room: await rooms.changeRole(requireAuth(request).userId, request.params.room_id, request.params.user_id, request.body.role),
  }));
};

export default groupRoomsRoutes;
