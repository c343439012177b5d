import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RelationshipStore } from '../social/relationship.store.ts';
import { UserStore } from './user.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    users: { store: UserStore };
    relationships: RelationshipStore;
  }
}

async function usersModule(app: FastifyInstance): Promise<void> {
  app.decorate('users', { store: new UserStore(app.db) });
  app.decorate('relationships', new RelationshipStore(app.db));
}

export default fp(usersModule, { name: 'users', dependencies: ['prisma'] });
