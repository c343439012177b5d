import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../lib/http-schemas.ts';
import { takeStreamSlot } from '../../plugins/abuse-limits.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import {
  friendStatusList,
  heartbeatResponse,
  streamDescription,
  streamQuery,
  streamResponse,
  userStatusParams,
  userStatusResponse,
} from './presence.schemas.ts';

const presenceRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.post('/heartbeat', {
    schema: {
      tags: ['presence'],
      summary: 'Keep me online (call every 30 s)',
      description: 'Marks you online for `ttl_seconds` (`PRESENCE_TTL_S`, default 300). Clients call it every 30 s; when the calls stop (and no WebSocket of yours is open) you go offline by yourself and your friends are told.',
      security: BEARER_SECURITY,
      response: { 200: heartbeatResponse, ...errorResponses(401, 503) },
    },
  }, async (request) => {
    const { userId } = requireAuth(request);
    await app.presence.heartbeat(userId);
    return { user_id: userId, is_online: true as const, ttl_seconds: app.presence.ttlSeconds };
  });

  app.get('/user/:user_id', {
    schema: {
      tags: ['presence'],
      summary: "A user's online status (myself and my friends only)",
      description: 'Whether this user is online, and when they were last active. Only for yourself and your accepted friends (403 for anyone else; 404 for unknown users).',
      security: BEARER_SECURITY,
      params: userStatusParams,
      response: { 200: userStatusResponse, ...errorResponses(400, 401, 403, 404, 503) },
    },
  }, async (request) => app.presenceQueries.userStatus(requireAuth(request).userId, request.params.user_id));

  app.get('/friends', {
    schema: {
      tags: ['presence'],
      summary: 'Online status of my accepted friends',
      description: 'One entry per accepted friend: whether they are online now.',
      security: BEARER_SECURITY,
      response: { 200: friendStatusList, ...errorResponses(401, 503) },
    },
  }, async (request) => app.presenceQueries.friendStatuses(requireAuth(request).userId));

  app.get('/stream', {
    exposeHeadRoute: false,
    schema: {
      tags: ['presence'],
      summary: "Live online status of my friends (Server-Sent Events)",
      description: streamDescription,
      security: BEARER_SECURITY,
      querystring: streamQuery,
      response: {
        200: { description: 'An endless event stream (see above)', content: { 'text/event-stream': { schema: streamResponse } } },
        ...errorResponses(401, 429, 503),
      },
    },
  }, async (request, reply) => {
    const auth = requireAuth(request);
    // At most MAX_STREAMS_PER_USER open over all instances.
    await takeStreamSlot(app.abuseLimits, auth.userId, request, reply);
    await app.presenceHub.open(auth, request, reply);
  });
};

export default presenceRoutes;
