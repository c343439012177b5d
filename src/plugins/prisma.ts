import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createPrismaClient, type Db } from '../db/prisma.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

async function prismaPlugin(app: FastifyInstance): Promise<void> {
  const db = createPrismaClient(app.config.DATABASE_URL);
  app.decorate('db', db);
  app.addHook('onClose', async () => {
    await db.$disconnect();
  });
}

export default fp(prismaPlugin, { name: 'prisma', dependencies: ['config'] });
