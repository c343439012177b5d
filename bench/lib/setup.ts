import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import bcrypt from 'bcrypt';
import { Redis } from 'ioredis';
import mariadb from 'mariadb';
import { migrate } from '../../src/db/migrator.ts';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';

export const BENCH_MYSQL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const BENCH_REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BENCH_JWT_SECRET = 'bench-secret-0123456789abcdef-0123456789';

export interface BenchDatabase {
  databaseUrl: string;
  redisUrl: string;
  drop(): Promise<void>;
}

/** A fresh database and a flushed Redis db index for one benchmark; `drop` cleans both. */
export async function freshDatabase(name: string, redisDb: number): Promise<BenchDatabase> {
  const databaseUrl = `${BENCH_MYSQL}/${name}`;
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const admin = await mariadb.createConnection(connection);
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
  await migrate(databaseUrl);
  const redisUrl = `${BENCH_REDIS}/${redisDb}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  return {
    databaseUrl,
    redisUrl,
    async drop() {
      const conn = await mariadb.createConnection(connection);
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
      const cleanup = new Redis(redisUrl);
      await cleanup.flushdb();
      cleanup.disconnect();
    },
  };
}

/** Inserts `count` users in bulk (one bcrypt hash shared by all); returns their ids. */
export async function seedUsers(databaseUrl: string, count: number, prefix: string): Promise<number[]> {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const conn = await mariadb.createConnection({ ...connection, database });
  try {
    const hash = await bcrypt.hash('bench-password', 4);
    const ids: number[] = [];
    for (let start = 0; start < count; start += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) => start + i);
      const result = await conn.batch<{ insertId: bigint | number }[]>(
        'INSERT INTO users (email, password_hash, username, display_name, updated_at) VALUES (?, ?, ?, ?, NOW(3))',
        batch.map((i) => [`${prefix}${i}@bench.local`, hash, `${prefix}${i}`, `Bench ${i}`]),
      );
      void result;
    }
    const rows = await conn.query<{ id: number }[]>('SELECT id FROM users WHERE username LIKE ? ORDER BY id', [`${prefix}%`]);
    ids.push(...rows.map((row) => row.id));
    return ids;
  } finally {
    await conn.end();
  }
}

/** Group rooms of `size` consecutive users each; returns the room ids, in user order. */
export async function seedGroupRooms(databaseUrl: string, userIds: readonly number[], size: number): Promise<number[]> {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const conn = await mariadb.createConnection({ ...connection, database });
  try {
    const roomIds: number[] = [];
    for (let start = 0; start < userIds.length; start += size) {
      const members = userIds.slice(start, start + size);
      const owner = members[0]!;
      const room = await conn.query<{ insertId: bigint | number }>(
        "INSERT INTO rooms (type, name, max_members, created_by, updated_at) VALUES ('group', ?, ?, ?, NOW(3))",
        [`bench room ${start / size}`, Math.max(size, 2), owner],
      );
      const roomId = Number(room.insertId);
      await conn.batch(
        'INSERT INTO room_members (room_id, user_id, role) VALUES (?, ?, ?)',
        members.map((userId, i) => [roomId, userId, i === 0 ? 'owner' : 'member']),
      );
      roomIds.push(roomId);
    }
    return roomIds;
  } finally {
    await conn.end();
  }
}

/**
 * Starts `node [nodeArgs] --import tsx <script>` with env; resolves once it prints its listening
 * line. `nodeArgs` are Node's own flags (`--cpu-prof`, which NODE_OPTIONS does not take).
 */
export function startProcess(script: string, env: Record<string, string>, listening: RegExp, nodeArgs: readonly string[] = []): Promise<{ process: ChildProcess; port: number }> {
  // BENCH_CPU_PROF_DIR: every process started here also writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, ...nodeArgs, '--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = listening.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ process: child, port: Number(match[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/**
 * A real chat server process (src/server.ts) on the benchmark's database and Redis db, with
 * production settings and info logs (the access line per request is part of the cost measured).
 */
/** `script`: another checkout's server (bench:rest --against) instead of this one's. */
export function startChatServer(db: BenchDatabase, env: Record<string, string> = {}, nodeArgs: readonly string[] = [], script = 'src/server.ts'): Promise<{ process: ChildProcess; port: number }> {
  return startProcess(script, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    // Several servers run side by side: each gets a free metrics port.
    METRICS_PORT: '0',
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: db.redisUrl,
    JWT_SECRET: BENCH_JWT_SECRET,
    JWT_EXPIRES_IN: '2h',
    // A benchmark drives few users at full speed: the per-user abuse limits would measure 429s.
    API_RATE_PER_USER: '100000000',
    API_RATE_PER_IP: '100000000',
    MESSAGE_RATE_PER_USER: '100000000',
    MESSAGE_BURST_PER_USER: '100000000',
    ROOM_CREATE_PER_HOUR: '100000000',
    MAX_SOCKETS_PER_USER: '100000000',
    MAX_STREAMS_PER_USER: '100000000',
    ...env,
  }, /Server listening at http:\/\/127\.0\.0\.1:(\d+)/, nodeArgs);
}

/** A TCP port free on loopback right now (for a server that must be told its port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address !== 'string' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
