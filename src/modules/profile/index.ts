import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AvatarStorage } from './avatar.storage.ts';
import profileRoutes from './profile.routes.ts';
import { ProfileService } from './profile.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    profiles: ProfileService;
  }
}

async function profileModule(app: FastifyInstance): Promise<void> {
  const avatars = new AvatarStorage(app.config.UPLOAD_DIR);
  app.decorate('profiles', new ProfileService(app.users, avatars));
  await app.register(profileRoutes, { prefix: '/api/profile' });
}

export default fp(profileModule, { name: 'profile', dependencies: ['auth', 'users'] });
