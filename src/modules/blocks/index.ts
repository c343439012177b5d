import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The blocks module (to be built). */
async function blocksModule(_app: FastifyInstance): Promise<void> {}

export default fp(blocksModule, { name: 'blocks', dependencies: ['auth', 'users', 'events'] });
