import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PresenceService } from './presence.service.ts';
import { PresenceStore } from './presence.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    presence: PresenceService;
  }
}

async function presenceModule(app: FastifyInstance): Promise<void> {
  const ttlS = app.config.PRESENCE_TTL_S;
  app.decorate('presence', new PresenceService(new PresenceStore(app.redis, app.users.store, ttlS), ttlS, app.log));
}

export default fp(presenceModule, { name: 'presence', dependencies: ['redis', 'users'] });
