import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import {
  MAX_USER_IDS,
  userEnvelope,
  userIdsQuery,
  userListResponse,
  userParams,
  userSearchQuery,
  userSearchResponse,
} from './user.schemas.ts';

const tags = ['users'];

const usersRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.get('/search', {
    schema: {
      tags,
      summary: 'Search the user directory',
      description:
        'Every active user but me and users blocked either way whose username or display name contains `q` ' +
        '(case-insensitive): those starting with `q` first, then the rest. Each with whether we are friends ' +
        'and any pending friend request between us.',
      security: BEARER_SECURITY,
      querystring: userSearchQuery,
      response: { 200: userSearchResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => app.users.search(requireAuth(request).userId, request.query.q, request.query.limit));

  app.get('/:user_id', {
    schema: {
      tags,
      summary: 'One user',
      description: 'Same rules as `GET /api/profile/{user_id}`: 404 when unknown, inactive, or blocked either way.',
      security: BEARER_SECURITY,
      params: userParams,
      response: { 200: userEnvelope, ...errorResponses(400, 401, 404) },
    },
  }, async (request) => ({ user: await app.users.view(requireAuth(request).userId, request.params.user_id) }));

  // '' (not '/'): the route is /api/users, without the trailing slash the OpenAPI lint refuses.
  app.get('', {
    schema: {
      tags,
      summary: 'Several users by id',
      description:
        `At most ${MAX_USER_IDS} ids; duplicates count once. Unknown, inactive and blocked users are left out; ` +
        'the others come in the order asked.',
      security: BEARER_SECURITY,
      querystring: userIdsQuery,
      response: { 200: userListResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => app.users.viewMany(requireAuth(request).userId, request.query.ids));
};

export default usersRoutes;
