import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import friendsRoutes from './friends.routes.ts';
import { FriendsService } from './friends.service.ts';
import { FriendsStore } from './friends.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    friends: FriendsService;
  }
}

async function friendsModule(app: FastifyInstance): Promise<void> {
  app.decorate(
    'friends',
    new FriendsService(new FriendsStore(app.db), app.users, app.relationships, app.presence, app.events, app.log),
  );
  await app.register(friendsRoutes, { prefix: '/api/friends' });
}

export default fp(friendsModule, { name: 'friends', dependencies: ['auth', 'users', 'events', 'presence'] });
