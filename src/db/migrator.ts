import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mariadb from 'mariadb';
import { parseMysqlUrl } from './mysql-url.ts';

/**
 * Applies prisma/migrations/<name>/migration.sql files in order and records them in
 * `_prisma_migrations` exactly like `prisma migrate deploy` does (same table, same sha256
 * checksum, same advisory lock), so either tool can be used on the same database.
 */

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));
const LOCK_NAME = 'prisma_migrate';
const LOCK_TIMEOUT_S = 60;

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`;

interface AppliedMigration {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export interface MigrationLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface MigrationResult {
  database: string;
  created: boolean;
  applied: string[];
}

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<{ name: string; sql: string }[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(
    names.map(async (name) => ({ name, sql: await readFile(path.join(dir, name, 'migration.sql'), 'utf8') })),
  );
}

export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

export async function migrate(
  databaseUrl: string,
  logger: MigrationLogger = { info: () => {}, warn: () => {} },
  dir = MIGRATIONS_DIR,
): Promise<MigrationResult> {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const conn = await mariadb.createConnection({ ...connection, multipleStatements: true, timezone: 'Z' });
  try {
    const existing = await conn.query<unknown[]>('SHOW DATABASES LIKE ?', [database]);
    const created = existing.length === 0;
    if (created) {
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      logger.info(`created database ${database}`);
    }
    await conn.query(`USE \`${database}\``);
    await acquireLock(conn);
    try {
      await conn.query(CREATE_MIGRATIONS_TABLE);
      const applied = await applyPending(conn, await listMigrations(dir), logger);
      return { database, created, applied };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
    }
  } finally {
    await conn.end();
  }
}

async function acquireLock(conn: mariadb.Connection): Promise<void> {
  const rows = await conn.query<{ locked: number | bigint | null }[]>('SELECT GET_LOCK(?, ?) AS locked', [
    LOCK_NAME,
    LOCK_TIMEOUT_S,
  ]);
  if (Number(rows[0]?.locked) !== 1) {
    throw new Error(`could not take the ${LOCK_NAME} lock within ${LOCK_TIMEOUT_S}s`);
  }
}

async function applyPending(
  conn: mariadb.Connection,
  migrations: { name: string; sql: string }[],
  logger: MigrationLogger,
): Promise<string[]> {
  const rows = await conn.query<AppliedMigration[]>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations',
  );
  const byName = new Map(rows.filter((row) => row.rolled_back_at === null).map((row) => [row.migration_name, row]));
  const applied: string[] = [];
  for (const migration of migrations) {
    const checksum = migrationChecksum(migration.sql);
    const previous = byName.get(migration.name);
    if (previous?.finished_at) {
      if (previous.checksum !== checksum) logger.warn(`migration ${migration.name} was modified after it was applied`);
      continue;
    }
    if (previous) {
      throw new Error(
        `migration ${migration.name} failed earlier and is not finished; resolve it (prisma migrate resolve) first`,
      );
    }
    await applyOne(conn, migration.name, migration.sql, checksum);
    logger.info(`applied migration ${migration.name}`);
    applied.push(migration.name);
  }
  return applied;
}

async function applyOne(conn: mariadb.Connection, name: string, sql: string, checksum: string): Promise<void> {
  const id = randomUUID();
  await conn.query(
    'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, NOW(3), 0)',
    [id, checksum, name],
  );
  try {
    await conn.query(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await conn.query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [message, id]);
    throw new Error(`migration ${name} failed: ${message}`);
  }
  await conn.query('UPDATE _prisma_migrations SET finished_at = NOW(3), applied_steps_count = 1 WHERE id = ?', [id]);
}
