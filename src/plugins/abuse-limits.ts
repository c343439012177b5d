import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Per-user abuse limits (issue 11): filled in by the limits work. */
async function abuseLimitsPlugin(_app: FastifyInstance): Promise<void> {}

export default fp(abuseLimitsPlugin, { name: 'abuse-limits', dependencies: ['redis', 'auth'] });
