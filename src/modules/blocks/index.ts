import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import blocksRoutes from './blocks.routes.ts';
import { BlocksService } from './blocks.service.ts';
import { BlocksStore } from './blocks.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    blocks: BlocksService;
  }
}

async function blocksModule(app: FastifyInstance): Promise<void> {
  app.decorate('blocks', new BlocksService(new BlocksStore(app.db), app.users, app.events, app.log));
  await app.register(blocksRoutes, { prefix: '/api/blocks' });
}

export default fp(blocksModule, { name: 'blocks', dependencies: ['auth', 'users', 'events'] });
