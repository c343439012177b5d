import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isMysqlUnavailable } from '../../plugins/prisma.ts';
import { RelationshipService } from './relationship.service.ts';
import { RelationshipStore } from './relationship.store.ts';
import { UserService } from './user.service.ts';
import { UserStore } from './user.store.ts';
import usersRoutes from './users.routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    users: UserService;
    relationships: RelationshipService;
  }
}

/** Accounts and how two users stand to each other, and the user directory (`/api/users`). */
async function usersModule(app: FastifyInstance): Promise<void> {
  const relationships = new RelationshipService(new RelationshipStore(app.db, app.mysqlPool));
  const users = new UserService(new UserStore(app.db), relationships, app.events, app.log);
  app.decorate('users', users);
  app.decorate('relationships', relationships);
  // Every token check asks (through a short cache) whether its user still exists and is active.
  app.tokens.accounts.use({ activeAmong: (userIds) => users.activeIds(userIds), isUnavailable: isMysqlUnavailable });
  // Every instance drops the cached profiles a change touches (ProfileCache); presence writes
  // arrive through the presence module instead (UserService.presenceStored).
  app.addHook('onReady', async () => {
    await app.events.subscribe((event) => {
      if (event.type === 'user_changed') users.profiles.drop([event.user_id]);
    });
  });
  await app.register(usersRoutes, { prefix: '/api/users' });
}

export default fp(usersModule, { name: 'users', dependencies: ['prisma', 'auth', 'events'] });
