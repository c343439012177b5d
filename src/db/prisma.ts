import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient } from '../generated/prisma/client.ts';
import { parseMysqlUrl } from './mysql-url.ts';

export type Db = PrismaClient;

export function createPrismaClient(databaseUrl: string, connectionLimit = 10): Db {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const adapter = new PrismaMariaDb({
    ...connection,
    database,
    connectionLimit,
    acquireTimeout: 5000,
    connectTimeout: 3000,
    // DATETIME columns hold UTC; read them back as UTC too.
    timezone: 'Z',
  });
  return new PrismaClient({ adapter });
}
