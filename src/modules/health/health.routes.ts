import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../../lib/errors.ts';
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
    schema: { tags: ['health'], summary: 'Redis details', response: { 200: redisReport, 503: redisReport } },
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

export default healthRoutes;
