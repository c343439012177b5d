import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isMysqlUnavailable } from '../../plugins/prisma.ts';
import { RelationshipService } from './relationship.service.ts';
import { RelationshipStore } from './relationship.store.ts';
import { UserService } from './user.service.ts';
import { UserStore } from './user.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    users: UserService;
    relationships: RelationshipService;
  }
}

/** Accounts and how two users stand to each other; no routes of its own (auth, profile and friends serve users). */
async function usersModule(app: FastifyInstance): Promise<void> {
  const users = new UserService(new UserStore(app.db));
  app.decorate('users', users);
  app.decorate('relationships', new RelationshipService(new RelationshipStore(app.db)));
  // Every token check asks (through a short cache) whether its user still exists and is active.
  app.tokens.accounts.use({ activeAmong: (userIds) => users.activeIds(userIds), isUnavailable: isMysqlUnavailable });
}

export default fp(usersModule, { name: 'users', dependencies: ['prisma', 'auth'] });
