import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { forbidden, invalidToken, notFound } from '../../lib/errors.ts';
import { errorResponses } from '../../lib/http-schemas.ts';
import { healthReport, liveReport, redisReport, redisRoundTrip } from './health.schemas.ts';

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('', {
    schema: {
      tags: ['health'],
      summary: 'MySQL, Redis and message store checks with latency (503 naming the failing check)',
      description: 'Checks MySQL, Redis and the message store (MongoDB or MySQL) and reports each with its latency. 200 when all answer; 503 with the same body, the failing check marked `error`, when one does not. Never rate limited.',
      response: { 200: healthReport, 503: healthReport },
    },
  }, async (_request, reply) => {
    const report = await app.health.report();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });

  app.get('/live', {
    schema: {
      tags: ['health'],
      summary: 'Liveness: 200 while the process runs',
      description: "200 as long as the process runs, without touching any dependency: for a container's liveness probe.",
      response: { 200: liveReport },
    },
  }, async () => ({ status: 'ok' as const, uptime_s: app.health.uptimeSeconds() }));

  app.get('/ready', {
    schema: {
      tags: ['health'],
      summary: 'Readiness: 200 when MySQL, Redis and the message store answer',
      description: "The same checks as `GET /api/health`: 200 when the instance can serve, 503 otherwise. For a load balancer's readiness probe.",
      response: { 200: healthReport, 503: healthReport },
    },
  }, async (_request, reply) => {
    const report = await app.health.report();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });

  app.get('/redis', {
    onRequest: healthTokenCheck(app.config.HEALTH_TOKEN, app.config.NODE_ENV === 'production'),
    schema: {
      tags: ['health'],
      summary: 'Redis details (server version, memory): needs Authorization: Bearer <HEALTH_TOKEN> when HEALTH_TOKEN is set, and is refused (404) in production without one',
      description: "Redis's version, connected clients and memory use. Needs `Authorization: Bearer <HEALTH_TOKEN>` when the server has a `HEALTH_TOKEN` (401 without a bearer token, 403 with a wrong one); in production without a `HEALTH_TOKEN` it is not served (404).",
      security: [{ BearerAuth: [] }],
      response: { 200: redisReport, 503: redisReport, ...errorResponses(401, 403, 404) },
    },
  }, async (_request, reply) => {
    const report = await app.health.redisReport();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });

  app.post('/redis/test', {
    schema: {
      tags: ['health'],
      summary: 'Redis write/read/delete round trip (not available in production)',
      description: 'Writes, reads and deletes a test key in Redis and reports what happened, for checking a development set-up. 404 in production.',
      response: { 200: redisRoundTrip, ...errorResponses(404, 503) },
    },
  }, async () => {
    if (app.config.NODE_ENV === 'production') throw notFound('Route POST /api/health/redis/test not found');
    return app.health.redisRoundTrip();
  });
};

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /api/health/redis` tells the Redis version and memory use: an attacker's map. When
 * HEALTH_TOKEN is set it needs `Authorization: Bearer <HEALTH_TOKEN>` (401 without a bearer, 403
 * with a wrong one); in production without HEALTH_TOKEN it is not served at all (404, like
 * `POST /redis/test`). Outside production without HEALTH_TOKEN it stays open for development.
 */
function healthTokenCheck(token: string | undefined, production: boolean) {
  const expected = token === undefined ? undefined : digest(token);
  return async (request: FastifyRequest) => {
    if (expected === undefined) {
      if (production) throw notFound('Route GET /api/health/redis not found');
      return;
    }
    const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '')?.[1];
    if (given === undefined) throw invalidToken('This route needs Authorization: Bearer <HEALTH_TOKEN>');
    // Compared as digests: constant time and the same length whatever was sent.
    if (!timingSafeEqual(digest(given), expected)) throw forbidden('Wrong health token');
  };
}

export default healthRoutes;
