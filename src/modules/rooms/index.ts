import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The rooms module (to be built). */
async function roomsModule(_app: FastifyInstance): Promise<void> {}

export default fp(roomsModule, { name: 'rooms', dependencies: ['auth', 'users', 'events'] });
