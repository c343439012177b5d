import type { PoolConfig } from 'mariadb';

export interface MysqlTarget {
  connection: Pick<PoolConfig, 'host' | 'port' | 'user' | 'password' | 'socketPath' | 'allowPublicKeyRetrieval'>;
  database: string;
}

/** Splits a mysql:// URL into driver settings and the database name. */
export function parseMysqlUrl(url: string): MysqlTarget {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$-]+$/.test(database)) {
    throw new Error('DATABASE_URL must name a database made of letters, digits, _, $ or -');
  }
  const socketPath = parsed.searchParams.get('socket') ?? undefined;
  // MySQL 8's caching_sha2_password over plain TCP needs the server's key (Compose sets this).
  const allowPublicKeyRetrieval = parsed.searchParams.get('allowPublicKeyRetrieval') === 'true';
  return {
    connection: {
      host: parsed.hostname || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decodeURIComponent(parsed.username) || 'root',
      password: decodeURIComponent(parsed.password),
      ...(socketPath ? { socketPath } : {}),
      ...(allowPublicKeyRetrieval ? { allowPublicKeyRetrieval } : {}),
    },
    database,
  };
}

/** DATETIME(3) text in UTC, whatever the process's time zone (for statements sent without Prisma). */
export const utcDateTime = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');

/** The inverse of utcDateTime: `2026-01-23 09:30:00.000` as a raw statement reads it with `dateStrings` (UTC, as stored). */
export const parseUtcDateTime = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
