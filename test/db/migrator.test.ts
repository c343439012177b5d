import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mariadb from 'mariadb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { listMigrations, MIGRATIONS_DIR, migrate, migrationChecksum } from '../../src/db/migrator.ts';
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

  it('numbers existing messages per room in their old order, and moves read pointers to seq', async () => {
    const url = scratchUrl();
    const before = mkdtempSync(path.join(tmpdir(), 'migrations-before-seq-'));
    for (const { name } of (await listMigrations()).filter((m) => m.name < '20261202000000_message_seq')) {
      cpSync(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    }
    await migrate(url, undefined, before);
    const conn = await mariadb.createConnection({ ...connection, database: parseMysqlUrl(url).database });
    try {
      await conn.query("INSERT INTO users (id, email, password_hash, username, updated_at) VALUES (1, 'a@x.io', 'h', 'a', NOW(3))");
      await conn.query("INSERT INTO rooms (id, type, name, created_by, updated_at) VALUES (1, 'group', 'r1', 1, NOW(3)), (2, 'group', 'r2', 1, NOW(3)), (3, 'group', 'empty', 1, NOW(3))");
      // Interleaved rooms: ids 1..5 are r1, r2, r1, r1, r2.
      for (const room of [1, 2, 1, 1, 2]) await conn.query('INSERT INTO messages (room_id, user_id, content) VALUES (?, 1, ?)', [room, `in ${room}`]);
      await conn.query("INSERT INTO room_members (room_id, user_id, last_read_message_id) VALUES (1, 1, '3'), (2, 1, NULL), (3, 1, '64d2f0c1a9e4b3c2d1e0f9a8')");

      await migrate(url);

      const rows = await conn.query<{ id: bigint; room_id: number; seq: bigint }[]>('SELECT id, room_id, seq FROM messages ORDER BY id');
      expect(rows.map((r) => [Number(r.id), r.room_id, Number(r.seq)])).toEqual([[1, 1, 1], [2, 2, 1], [3, 1, 2], [4, 1, 3], [5, 2, 2]]);
      const counters = await conn.query<{ room_id: number; last_seq: bigint }[]>('SELECT room_id, last_seq FROM message_sequences ORDER BY room_id');
      expect(counters.map((c) => [c.room_id, Number(c.last_seq)])).toEqual([[1, 3], [2, 2]]);
      const pointers = await conn.query<{ room_id: number; last_read_seq: bigint }[]>('SELECT room_id, last_read_seq FROM room_members ORDER BY room_id');
      // Room 1 read up to message 3 (its seq 2); a MongoDB id is left for that store to resolve.
      expect(pointers.map((p) => [p.room_id, Number(p.last_read_seq)])).toEqual([[1, 2], [2, 0], [3, 0]]);
    } finally {
      await conn.end();
    }
  });
});
