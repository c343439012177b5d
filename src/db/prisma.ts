import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient } from '../generated/prisma/client.ts';
import { parseMysqlUrl } from './mysql-url.ts';

export type Db = PrismaClient;

export function createPrismaClient(databaseUrl: string, connectionLimit = 16): Db {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const adapter = new PrismaMariaDb({
    ...connection,
    database,
    connectionLimit,
    acquireTimeout: 5000,
    connectTimeout: 3000,
    // Prisma sends every query as a prepared statement; without a cache each one costs
    // PREPARE + EXECUTE + CLOSE round trips (measured: ~2x fewer queries per second).
    prepareCacheLength: 256,
    // DATETIME columns hold UTC; read them back as UTC too.
    timezone: 'Z',
  });
  return new PrismaClient({ adapter });
}
