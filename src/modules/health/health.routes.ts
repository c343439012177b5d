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
      response: { 200: healthReport, 503: healthReport },
    },
  }, async (_request, reply) => {
    const report = await app.health.report();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });

  app.get('/live', {
    schema: { tags: ['health'], summary: 'Liveness: 200 while the process runs', response: { 200: liveReport } },
  }, async () => ({ status: 'ok' as const, uptime_s: app.health.uptimeSeconds() }));

  app.get('/ready', {
    schema: {
      tags: ['health'],
      summary: 'Readiness: 200 when MySQL, Redis and the message store answer',
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
