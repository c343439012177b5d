import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
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
  app.decorate('users', new UserService(new UserStore(app.db)));
  app.decorate('relationships', new RelationshipService(new RelationshipStore(app.db)));
}

export default fp(usersModule, { name: 'users', dependencies: ['prisma'] });
