import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The friends module (to be built). */
async function friendsModule(_app: FastifyInstance): Promise<void> {}

export default fp(friendsModule, { name: 'friends', dependencies: ['auth', 'users', 'events'] });
