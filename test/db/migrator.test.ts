import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { listMigrations, migrate, migrationChecksum } from '../../src/db/migrator.ts';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';

const { connection } = parseMysqlUrl(inject('databaseUrl'));
const scratchDatabases: string[] = [];

function scratchUrl(): string {
  const name = `bigtech_migrator_${randomBytes(4).toString('hex')}`;
  scratchDatabases.push(name);
  return `mysql://${connection.user}@${connection.host}:${connection.port}/${name}`;
}

afterAll(async () => {
  const conn = await mariadb.createConnection(connection);
  for (const name of scratchDatabases) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.end();
});

describe('migrator', () => {
  it('creates a missing database, applies every migration once and records them like prisma migrate deploy', async () => {
    const url = scratchUrl();
    const first = await migrate(url);
    const migrations = await listMigrations();
    expect(first.created).toBe(true);
    expect(first.applied).toEqual(migrations.map((m) => m.name));

    const second = await migrate(url);
    expect(second).toMatchObject({ created: false, applied: [] });

    const conn = await mariadb.createConnection({ ...connection, database: parseMysqlUrl(url).database });
    const rows = await conn.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }[]>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    await conn.end();
    expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(migrationChecksum(migrations[i]!.sql));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(Number(row.applied_steps_count)).toBe(1);
    }
  });

  it('runs safely when several instances start at once', async () => {
    const url = scratchUrl();
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    const applied = results.flatMap((r) => r.applied);
    expect(applied).toEqual((await listMigrations()).map((m) => m.name));
  });

  it('records a failed migration and refuses to continue past it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    mkdirSync(path.join(dir, '001_ok'));
    writeFileSync(path.join(dir, '001_ok', 'migration.sql'), 'CREATE TABLE t1 (id INT PRIMARY KEY);');
    mkdirSync(path.join(dir, '002_broken'));
    writeFileSync(path.join(dir, '002_broken', 'migration.sql'), 'CREATE TABLE t2 (id INT PRIMARY KEY); THIS IS NOT SQL;');
    const url = scratchUrl();
    await expect(migrate(url, undefined, dir)).rejects.toThrow(/002_broken failed/);
    await expect(migrate(url, undefined, dir)).rejects.toThrow(/failed earlier/);
  });
});
