import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The messages module (to be built). */
async function messagesModule(_app: FastifyInstance): Promise<void> {}

export default fp(messagesModule, { name: 'messages', dependencies: ['auth', 'users', 'events'] });
