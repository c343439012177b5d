import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, noContent } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import {
  friendListResponse,
  friendParams,
  friendRequestBody,
  friendRequestsResponse,
  friendshipEnvelope,
  listQuery,
  requesterParams,
  respondBody,
  searchQuery,
  searchResponse,
  targetParams,
} from './friends.schemas.ts';

const tags = ['friends'];

const friendsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.post('/request', {
    schema: {
      tags,
      summary: 'Send a friend request (accepts theirs instead when they already asked me: 200)',
      description: 'Asks `user_id` to be your friend: 201 with a `pending` friendship. When they had already asked you, this accepts their request instead (200, `accepted`). To yourself: 400; already friends or already asked: 409; unknown, inactive or blocked either way: 404.',
      security: BEARER_SECURITY,
      body: friendRequestBody,
      response: { 201: friendshipEnvelope, 200: friendshipEnvelope, ...errorResponses(400, 401, 404, 409) },
    },
  }, async (request, reply) => {
    const { userId } = requireAuth(request);
    const { outcome, friendship } = await app.friends.request(userId, request.body.user_id);
    request.log.info({ targetId: request.body.user_id, friendshipId: friendship.id, outcome }, 'friend request');
    return reply.code(outcome === 'accepted' ? 200 : 201).send({ friendship });
  });

  app.put('/status/:requester_user_id', {
    schema: {
      tags,
      summary: 'Accept or reject the pending request a user sent me',
      description: 'Answers the pending request that `requester_user_id` sent you: `accept` makes you friends, `reject` declines it. 404 when that user has no pending request to you.',
      security: BEARER_SECURITY,
      params: requesterParams,
      body: respondBody,
      response: { 200: friendshipEnvelope, ...errorResponses(400, 401, 404) },
    },
  }, async (request) => {
    const { userId } = requireAuth(request);
    const friendship = await app.friends.respond(userId, request.params.requester_user_id, request.body.action);
    request.log.info({ requesterId: request.params.requester_user_id, status: friendship.status }, 'friend request answered');
    return { friendship };
  });

  app.get('/list', {
    schema: {
      tags,
      summary: 'My friends, with online state and last seen',
      description: 'Your accepted friends with email, online state, `last_seen_at` and `last_seen_display` (Korean, relative: "방금전", "N분 전", "N시간 전", "N일 전"), paginated with `limit` and `offset`.',
      security: BEARER_SECURITY,
      querystring: listQuery,
      response: { 200: friendListResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => app.friends.list(requireAuth(request).userId, request.query));

  app.get('/requests', {
    schema: {
      tags,
      summary: 'Pending friend requests: received by me and sent by me (limit/offset apply to each list)',
      description: 'Requests waiting for an answer: `received` (others asked you; answer with `PUT /api/friends/status/{requester_user_id}`) and `sent` (you asked; cancel with `DELETE /api/friends/request/{target_user_id}`).',
      security: BEARER_SECURITY,
      querystring: listQuery,
      response: { 200: friendRequestsResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => app.friends.requests(requireAuth(request).userId, request.query));

  app.get('/search', {
    schema: {
      tags,
      summary: 'Find users to befriend by username or display name',
      description: 'Users whose username or display name contains `q` (at least 3 characters, else 400). Never you, your friends, inactive users or users blocked either way.',
      security: BEARER_SECURITY,
      querystring: searchQuery,
      response: { 200: searchResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => {
    const { q, limit, offset } = request.query;
    return app.friends.search(requireAuth(request).userId, q, { limit, offset });
  });

  app.delete('/request/:target_user_id', {
    schema: {
      tags,
      summary: 'Cancel my pending friend request',
      description: 'Withdraws the request you sent to `target_user_id` (404 when there is no pending request from you to them).',
      security: BEARER_SECURITY,
      params: targetParams,
      response: { 204: noContent, ...errorResponses(400, 401, 404) },
    },
  }, async (request, reply) => {
    await app.friends.cancel(requireAuth(request).userId, request.params.target_user_id);
    request.log.info({ targetId: request.params.target_user_id }, 'friend request cancelled');
    return reply.code(204).send(null);
  });

  app.delete('/:user_id', {
    schema: {
      tags,
      summary: 'Unfriend a user',
      description: 'Ends your friendship with `user_id` (404 when you are not friends). Either side may end it.',
      security: BEARER_SECURITY,
      params: friendParams,
      response: { 204: noContent, ...errorResponses(400, 401, 404) },
    },
  }, async (request, reply) => {
    await app.friends.unfriend(requireAuth(request).userId, request.params.user_id);
    request.log.info({ friendId: request.params.user_id }, 'unfriended');
    return reply.code(204).send(null);
  });
};

export default friendsRoutes;
