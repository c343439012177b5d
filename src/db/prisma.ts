import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import * as mariadb from 'mariadb';
import { PrismaClient } from '../generated/prisma/client.ts';
import { parseMysqlUrl } from './mysql-url.ts';

export type Db = PrismaClient;

/**
 * How long a query may wait for a pooled connection. While MySQL is unreachable every query
 * waits this long (the pool keeps trying to connect meanwhile) and then fails with a 503, so
 * it is kept short; in normal operation a connection is free within milliseconds, and a wait
 * this long means overload, where a quick 503 serves clients better than a queue.
 */
export const ACQUIRE_TIMEOUT_MS = 2000;
/** TCP + handshake budget for a new connection (a host that drops packets never answers). */
export const CONNECT_TIMEOUT_MS = 1500;

export interface MysqlClients {
  db: Db;
  /** The pool under Prisma, for the few hot statements that skip Prisma's query layer. */
  pool: mariadb.Pool;
  close(): Promise<void>;
}

/**
 * Prisma on a mariadb pool of our own: the project's mariadb version (not the adapter's pinned
 * one) and the same connections for Prisma and for raw hot-path statements.
 */
export function createMysqlClients(databaseUrl: string, connectionLimit = 16): MysqlClients {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const pool = mariadb.createPool({
    ...connection,
    database,
    connectionLimit,
    acquireTimeout: ACQUIRE_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Prisma sends every query as a prepared statement; without a cache each one costs
    // PREPARE + EXECUTE + CLOSE round trips (measured: ~2x fewer queries per second).
    prepareCacheLength: 256,
    // No session set-up queries on a new connection: the collation (id below 256) is agreed in
    // the handshake, and `timezone` is left unset (no SET time_zone) because the Prisma adapter
    // formats and parses every date as UTC itself and raw statements pass UTC text. This also
    // keeps new connections cheap, and mariadb < 3.5 crashed the process (an unhandled
    // rejection) when MySQL went away during such set-up. Do not use NOW() in raw SQL.
    collation: 'UTF8MB4_UNICODE_CI',
  });
  const db = new PrismaClient({ adapter: new PrismaMariaDb(pool, { database }) });
  return {
    db,
    pool,
    async close() {
      await db.$disconnect();
      await pool.end();
    },
  };
}
