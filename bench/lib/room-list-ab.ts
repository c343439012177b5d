/**
 * GET /api/chat-rooms?limit=100 (the flood's call: a user in 150 rooms) on this checkout's server
 * and on another worktree's, alternating rounds on the same database: medians of req/s, p99 and
 * CPU per request of the server and of MariaDB.
 *
 *   npx tsx bench/lib/room-list-ab.ts --against /work/main [--rounds 5] [--seconds 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { Redis } from 'ioredis';
import mariadb from 'mariadb';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';
import { BENCH_JWT_SECRET, BENCH_REDIS, freshDatabase, seedUsers, type BenchDatabase } from './setup.ts';
import { argValue, cpuSecondsOf, percentile, pidsNamed, round, sleep } from './stats.ts';

const AGAINST = argValue('against') ?? (process.argv.includes('--seed-only') ? '.' : undefined);
const ROUNDS = Number(argValue('rounds') ?? 5);
const SECONDS = Number(argValue('seconds') ?? 3);
const CONCURRENCY = 4;
const ROOMS = 150;

async function seed(db: BenchDatabase): Promise<number> {
  const [owner, ...fillers] = await seedUsers(db.databaseUrl, 10, 'roomlist');
  const { connection, database } = parseMysqlUrl(db.databaseUrl);
  const conn = await mariadb.createConnection({ ...connection, database });
  try {
    for (let i = 0; i < ROOMS; i += 1) {
      const members = [owner!, fillers[i % fillers.length]!, fillers[(i + 1) % fillers.length]!];
      const room = await conn.query<{ insertId: bigint }>(
        "INSERT INTO rooms (type, name, max_members, created_by, updated_at, last_message_at) VALUES ('group', ?, 100, ?, NOW(3), NOW(3))",
        [`room ${i}`, owner],
      );
      const roomId = Number(room.insertId);
      await conn.batch('INSERT INTO room_members (room_id, user_id, role) VALUES (?, ?, ?)', members.map((userId, k) => [roomId, userId, k === 0 ? 'owner' : 'member']));
      await conn.batch('INSERT INTO messages (room_id, seq, user_id, content) VALUES (?, ?, ?, ?)', [1, 2, 3].map((seq) => [roomId, seq, owner, `seeded message ${seq} of room ${i}, long enough to look like a real one`]));
      await conn.query('INSERT INTO message_sequences (room_id, last_seq) VALUES (?, 3)', [roomId]);
    }
  } finally {
    await conn.end();
  }
  return owner!;
}

function startServer(cwd: string, db: BenchDatabase): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd,
    env: {
      ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0',
      DATABASE_URL: db.databaseUrl, REDIS_URL: db.redisUrl, JWT_SECRET: BENCH_JWT_SECRET, JWT_EXPIRES_IN: '2h',
      API_RATE_PER_USER: '100000000', API_RATE_PER_IP: '100000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`server in ${cwd} exited with ${code}`)));
  });
}

async function round1(port: number, pid: number, token: string): Promise<{ rps: number; p99: number; cpuUs: number; dbUs: number; bytes: number }> {
  const url = `http://127.0.0.1:${port}/api/chat-rooms?limit=100`;
  const mariadbPids = pidsNamed('mariadbd');
  const dbCpu = () => mariadbPids.reduce((sum, p) => sum + cpuSecondsOf(p), 0);
  const times: number[] = [];
  let bytes = 0;
  const cpu0 = cpuSecondsOf(pid);
  const db0 = dbCpu();
  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      bytes = body.byteLength;
      times.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const n = times.length;
  return { rps: n / seconds, p99: percentile(times, 99), cpuUs: ((cpuSecondsOf(pid) - cpu0) * 1e6) / n, dbUs: ((dbCpu() - db0) * 1e6) / n, bytes };
}

const median = (values: number[]) => percentile(values, 50);

async function main(): Promise<void> {
  if (!AGAINST) throw new Error('--against DIR');
  const admin = new Redis(`${BENCH_REDIS}/0`);
  let redisDb = 15;
  while (!(await admin.set(`bigtech:test-run:db:${redisDb}`, 'roomlist', 'EX', 3600, 'NX'))) redisDb -= 1;
  const db = await freshDatabase('bigtech_bench_roomlist', redisDb);
  const servers: ChildProcess[] = [];
  try {
    const owner = await seed(db);
    if (process.argv.includes('--seed-only')) {
      console.log(`seeded ${db.databaseUrl}, user ${owner}`);
      return;
    }
    const sides = [{ name: 'this checkout', cwd: process.cwd() }, { name: path.resolve(AGAINST), cwd: path.resolve(AGAINST) }];
    const started = await Promise.all(sides.map((side) => startServer(side.cwd, db)));
    servers.push(...started.map((s) => s.child));
    const now = Math.floor(Date.now() / 1000);
    const token = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' })({ sub: String(owner), jti: randomUUID(), iat: now, exp: now + 7200 });
    for (const s of started) for (let i = 0; i < 30; i += 1) await fetch(`http://127.0.0.1:${s.port}/api/chat-rooms?limit=100`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    const results = sides.map(() => [] as Awaited<ReturnType<typeof round1>>[]);
    console.log(`start ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (let r = 0; r < ROUNDS; r += 1) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const s = started[i]!;
        results[i]!.push(await round1(s.port, s.child.pid!, token));
        await sleep(300);
      }
    }
    console.log(`end ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('| server | req/s | p99 ms | server CPU µs/req | MariaDB CPU µs/req | response bytes |');
    console.log('|---|---|---|---|---|---|');
    sides.forEach((side, i) => {
      const rs = results[i]!;
      console.log(`| ${side.name} | ${round(median(rs.map((x) => x.rps)), 0)} | ${round(median(rs.map((x) => x.p99)))} | ${round(median(rs.map((x) => x.cpuUs)), 0)} | ${round(median(rs.map((x) => x.dbUs)), 0)} | ${rs[0]!.bytes} |`);
    });
  } finally {
    for (const child of servers) child.kill('SIGTERM');
    await sleep(500);
    if (!process.argv.includes('--seed-only')) await db.drop();
    await admin.del(`bigtech:test-run:db:${redisDb}`);
    admin.disconnect();
  }
}

await main();
process.exit(0);
