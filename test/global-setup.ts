import { randomBytes } from 'node:crypto';
import mariadb from 'mariadb';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/db/migrator.ts';
import { parseMysqlUrl } from '../src/db/mysql-url.ts';

/**
 * Every test run gets its own MariaDB database and its own Redis db index, so runs never see
 * each other's data. Both are dropped/flushed at the end.
 */

const MYSQL_BASE = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const REDIS_BASE = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_DB_COUNT = 16;
const CLAIM_TTL_S = 3600;

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

async function claimRedisDb(admin: Redis, runId: string): Promise<number> {
  for (let index = 1; index < REDIS_DB_COUNT; index += 1) {
    const claimed = await admin.set(`bigtech:test-run:db:${index}`, runId, 'EX', CLAIM_TTL_S, 'NX');
    if (claimed) return index;
  }
  throw new Error('no free Redis db index for this test run (all claimed by other runs)');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const databaseUrl = `${MYSQL_BASE}/bigtech_test_${runId}`;
  const admin = new Redis(`${REDIS_BASE}/0`);
  const redisDb = await claimRedisDb(admin, runId);
  const redisUrl = `${REDIS_BASE}/${redisDb}`;
  const runRedis = new Redis(redisUrl);
  await runRedis.flushdb();
  await migrate(databaseUrl);

  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  console.log(`test run ${runId}: database ${parseMysqlUrl(databaseUrl).database}, redis db ${redisDb}`);

  return async () => {
    await runRedis.flushdb();
    runRedis.disconnect();
    await admin.del(`bigtech:test-run:db:${redisDb}`);
    admin.disconnect();
    const { connection, database } = parseMysqlUrl(databaseUrl);
    const conn = await mariadb.createConnection(connection);
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await conn.end();
  };
}
