import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import healthRoutes from './health.routes.ts';
import { HealthService } from './health.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    health: HealthService;
  }
}

async function healthModule(app: FastifyInstance): Promise<void> {
  app.decorate('health', new HealthService(app.db, app.redis, app.messages.service));
  await app.register(healthRoutes, { prefix: '/api/health' });
}

export default fp(healthModule, { name: 'health', dependencies: ['prisma', 'redis', 'messages'] });
