import { availableParallelism } from 'node:os';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import authRoutes from './auth.routes.ts';
import { AuthService } from './auth.service.ts';
import { PasswordHasher } from './password-hasher.ts';

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
    /** bcrypt on niced threads with bounded concurrency; stats() for tests and diagnostics. */
    passwordHasher: PasswordHasher;
  }
}

/** Per concurrent hash, how many more may wait before new ones are refused with 503. */
const QUEUED_PER_SLOT = 100;

async function authModule(app: FastifyInstance): Promise<void> {
  // One core is left to the event loop (see PasswordHasher).
  const concurrency = app.config.BCRYPT_CONCURRENCY ?? Math.max(1, availableParallelism() - 1);
  const hasher = new PasswordHasher({ rounds: app.config.BCRYPT_ROUNDS, concurrency, maxQueued: concurrency * QUEUED_PER_SLOT });
  app.decorate('passwordHasher', hasher);
  app.addHook('onClose', async () => hasher.close());
  app.decorate(
    'auth',
    new AuthService(app.users, app.tokens, app.presence, app.rateLimiter, app.events, hasher, {
      loginMaxFailures: app.config.LOGIN_MAX_FAILURES,
    }),
  );
  await app.register(authRoutes, { prefix: '/api/auth' });
}

export default fp(authModule, { name: 'auth-module', dependencies: ['auth', 'users', 'presence', 'rate-limit', 'events'] });
