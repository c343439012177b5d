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
      description: 'A new group room with you as `owner`. `member_ids` may list only your accepted friends (403 otherwise); they join as members. `max_members` is 2-1000 (default 100). Counts against `ROOM_CREATE_PER_HOUR` (429 beyond).',
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
      description: 'The group rooms you are in; with `discover=true`, the public group rooms you could join instead. Paginated with `limit` and `offset`.',
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
      description: 'Joins a public group room as a member. Private rooms: 403 (a member must add you); full rooms: 409; already a member: 200 and nothing changes.',
      security: BEARER_SECURITY,
      params: roomParams,
      response: { 200: roomEnvelope, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => ({ room: await rooms.join(requireAuth(request).userId, request.params.room_id) }));

  app.post('/:room_id/leave', {
    schema: {
      tags,
      summary: 'Leave the room; an owner hands ownership to the oldest admin, else the oldest member',
      description: 'Leaves the group room. When the owner leaves, the oldest admin (else the oldest member) becomes owner. Direct rooms cannot be left: 403.',
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
      description: 'Changes the fields you send; for the owner and admins only (403). `max_members` below the current member count: 409.',
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
      description: 'Deletes the group room with all its messages and memberships; for the owner only (403).',
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
      description: "Adds `user_id` to the group room. Owner and admins may add members, only the owner adds admins; only the adder's accepted friends can be added (403). Already a member or the room is full: 409.",
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
      description: "Your name in this room only; an empty string or null goes back to your profile's display name.",
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
      description: 'Removes `user_id` from the group room. The owner may remove anyone but themself; admins may remove plain members only (403 otherwise).',
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
      description: "Changes a member's role to `admin` or `member`; for the owner only, and never the owner's own role (403).",
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
