import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, noContent } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import { blockBody, blockedUserSchema, blockListQuery, blockListResponse, blockParams } from './blocks.schemas.ts';

const tags = ['blocks'];

const blocksRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.post('', {
    schema: {
      tags,
      summary: 'Block a user (ends any friendship and pending request between us)',
      description: "Blocks `user_id`: ends any friendship and pending request between you in one step. From then on neither of you can send the other friend requests, open a direct room, message directly or see the other's online status. Blocking yourself: 400; already blocked: 409.",
      security: BEARER_SECURITY,
      body: blockBody,
      response: { 201: blockedUserSchema, ...errorResponses(400, 401, 404, 409) },
    },
  }, async (request, reply) => {
    const { blocked, endedFriendship } = await app.blocks.block(requireAuth(request).userId, request.body.user_id);
    request.log.info({ blockedId: blocked.user_id, endedFriendship }, 'user blocked');
    return reply.code(201).send(blocked);
  });

  app.delete('/:user_id', {
    schema: {
      tags,
      summary: 'Unblock a user',
      description: 'Removes your block of this user (404 when you had not blocked them). A block they put on you stays.',
      security: BEARER_SECURITY,
      params: blockParams,
      response: { 204: noContent, ...errorResponses(400, 401, 404) },
    },
  }, async (request, reply) => {
    await app.blocks.unblock(requireAuth(request).userId, request.params.user_id);
    request.log.info({ blockedId: request.params.user_id }, 'user unblocked');
    return reply.code(204).send(null);
  });

  app.get('', {
    schema: {
      tags,
      summary: 'Users I blocked, newest first',
      description: 'The users you blocked, newest first, paginated with `limit` and `offset`.',
      security: BEARER_SECURITY,
      querystring: blockListQuery,
      response: { 200: blockListResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => app.blocks.list(requireAuth(request).userId, request.query));
};

export default blocksRoutes;
