import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Pool } from 'mariadb';
import { createMysqlClients, type Db } from '../db/prisma.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    /** The connection pool under `db`, for hot statements that skip Prisma's query layer. */
    mysqlPool: Pool;
  }
}

async function prismaPlugin(app: FastifyInstance): Promise<void> {
  const clients = createMysqlClients(app.config.DATABASE_URL);
  app.decorate('db', clients.db);
  app.decorate('mysqlPool', clients.pool);
  app.addHook('onClose', async () => clients.close());
}

export default fp(prismaPlugin, { name: 'prisma', dependencies: ['config'] });
