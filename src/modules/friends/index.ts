import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import friendsRoutes from './friends.routes.ts';
import { FriendsService } from './friends.service.ts';
import { FriendsStore } from './friends.store.ts';
import { RedisFriendPresence } from './friend-presence.ts';

declare module 'fastify' {
  interface FastifyInstance {
    friends: FriendsService;
  }
}

async function friendsModule(app: FastifyInstance): Promise<void> {
  const friends = new FriendsService(new FriendsStore(app.db, app.mysqlPool), app.users, app.relationships, new RedisFriendPresence(app.redis), app.events, app.log);
  app.decorate('friends', friends);
  // Every instance drops the cached lists a change touches (FriendListCache).
  app.addHook('onReady', async () => {
    await app.events.subscribe((event) => {
      if (event.type === 'friendship_changed') for (const id of event.user_ids) friends.lists.dropOwner(id);
      else if (event.type === 'block_changed') [event.blocker_id, event.blocked_id].forEach((id) => friends.lists.dropOwner(id));
      else if (event.type === 'user_changed') friends.lists.dropMember(event.user_id);
    });
  });
  await app.register(friendsRoutes, { prefix: '/api/friends' });
}

export default fp(friendsModule, { name: 'friends', dependencies: ['auth', 'users', 'events', 'presence', 'redis', 'prisma'] });
