import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import authRoutes from './auth.routes.ts';
import { AuthService } from './auth.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
  }
}

async function authModule(app: FastifyInstance): Promise<void> {
  app.decorate(
    'auth',
    new AuthService(app.users, app.tokens, app.presence, app.rateLimiter, app.events, {
      bcryptRounds: app.config.BCRYPT_ROUNDS,
      loginMaxFailures: app.config.LOGIN_MAX_FAILURES,
    }),
  );
  await app.register(authRoutes, { prefix: '/api/auth' });
}

export default fp(authModule, { name: 'auth-module', dependencies: ['auth', 'users', 'presence', 'rate-limit', 'events'] });
