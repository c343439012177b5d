/**
 * Message send ceiling: `POST /api/messages/:room_id` on the real server (one instance) next to
 * a bare Fastify route running the same SQL through the same mariadb driver and returning the
 * same body (bench/baseline-send-server.ts): requests per second and p99 with autocannon.
 *
 *   npm run bench:send                   # 10 s per target, 20 connections
 *   npm run bench:send -- --quick        # 3 s per target
 *   npm run bench:send -- --rooms 10     # spread the sends over 10 rooms (default: one busy room)
 *   npm run bench:send -- --json out.json
 *   npm run bench:send -- --profile dir  # instead: the real route's server under `node --cpu-prof`,
 *                                        # 2 s of warm-up, then the load; top frames printed
 *
 * One sender per connection, all members of the room(s). Ceilings: "grouped" is the real route's transaction (group commit per room); "single" is one
 * transaction per message, the send path before group commit, for comparison.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { createSigner } from 'fast-jwt';
import { BENCH_JWT_SECRET, freshDatabase, seedGroupRooms, seedUsers, startChatServer, startProcess, stopProcess } from './lib/setup.ts';
import { formatSummary, profileIn, summarizeProfile } from './lib/cpu-profile.ts';
import { argValue, cpuSecondsOf, endProgress, hasFlag, progress, round } from './lib/stats.ts';

const quick = hasFlag('quick');
const DURATION_S = Number(argValue('duration') ?? (quick ? 3 : 10));
const CONNECTIONS = Number(argValue('connections') ?? 20);
const ROOMS = Number(argValue('rooms') ?? 1);
const JSON_OUT = argValue('json');
const PROFILE_DIR = argValue('profile');

export interface SendResult {
  target: string;
  requestsPerSecond: number;
  /** The server process's CPU time (user + system) over the run, per request answered. */
  cpuUsPerRequest: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Requests take the senders' headers in turn (one sender per connection: the per-user request lanes are not what is measured). */
async function load(label: string, base: string, pid: number, pathOf: (room: number) => string, roomIds: readonly number[], senders: readonly Record<string, string>[], durationS = DURATION_S): Promise<SendResult> {
  let next = 0;
  const cpuBefore = cpuSecondsOf(pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        duration: durationS,
        requests: [
          {
            method: 'POST',
            setupRequest: (request: autocannon.Request) => ({
              ...request,
              headers: { ...senders[next % senders.length], 'content-type': 'application/json' },
              path: pathOf(roomIds[next++ % roomIds.length]!),
              body: JSON.stringify({ content: 'bench message 안녕하세요 👋', client_message_id: randomUUID() }),
            }),
          },
        ],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    let seconds = 0;
    instance.on('tick', () => progress(`  ${label}: ${++seconds}/${durationS}s`));
  });
  endProgress();
  const cpuUsPerRequest = round(((cpuSecondsOf(pid) - cpuBefore) * 1e6) / Math.max(1, result.requests.total));
  return { target: label, requestsPerSecond: round(result.requests.average, 0), cpuUsPerRequest, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function main(): Promise<void> {
  const db = await freshDatabase('bigtech_bench_send', 14);
  const processes: Awaited<ReturnType<typeof startProcess>>[] = [];
  try {
    const userIds = await seedUsers(db.databaseUrl, CONNECTIONS, 'sendbench');
    const me = userIds[0]!;
    const roomIds: number[] = [];
    for (let i = 0; i < ROOMS; i += 1) roomIds.push(...(await seedGroupRooms(db.databaseUrl, userIds, userIds.length)));
    const server = await startChatServer(db, {}, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []);
    processes.push(server);
    server.process.stdout?.removeAllListeners('data');
    const base = `http://127.0.0.1:${server.port}`;
    const now = Math.floor(Date.now() / 1000);
    const sign = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' });
    const senders = userIds.map((userId) => ({ authorization: `Bearer ${sign({ sub: String(userId), jti: randomUUID(), iat: now, exp: now + 3600 })}` }));
    const auth = senders[0]!;
    const sample = await fetch(`${base}/api/messages/${roomIds[0]}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'template', client_message_id: randomUUID() }),
    });
    if (sample.status !== 201) throw new Error(`the sample send answered ${sample.status}: ${await sample.text()}`);
    const templateFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-send-')), 'template.json');
    writeFileSync(templateFile, await sample.text());
    if (PROFILE_DIR) {
      const pathOf = (room: number) => `/api/messages/${room}`;
      await load('warm-up', base, server.process.pid!, pathOf, roomIds, senders, 2);
      const loadStart = Date.now();
      const profiled = await load('POST /api/messages/:room_id', base, server.process.pid!, pathOf, roomIds, senders);
      await stopProcess(server.process);
      processes.pop();
      const title = `POST /api/messages/:room_id: ${profiled.requestsPerSecond} req/s, ${profiled.cpuUsPerRequest} µs of server CPU per request while profiled`;
      console.log(['', ...formatSummary(title, summarizeProfile(profileIn(PROFILE_DIR), 24, Date.now() - loadStart))].join('\n'));
      return;
    }
    const bare = await startProcess('bench/baseline-send-server.ts', { TEMPLATE_FILE: templateFile, DATABASE_URL: db.databaseUrl, SENDER_ID: String(me) }, /baseline listening on (\d+)/);
    processes.push(bare);
    const bareBase = `http://127.0.0.1:${bare.port}`;

    const real = await load('POST /api/messages/:room_id', base, server.process.pid!, (room) => `/api/messages/${room}`, roomIds, senders);
    const grouped = await load('bare route, same SQL (group commit)', bareBase, bare.process.pid!, (room) => `/bare/grouped/${room}`, roomIds, [{}]);
    const single = await load('bare route, one transaction per message', bareBase, bare.process.pid!, (room) => `/bare/single/${room}`, roomIds, [{}]);
    const ratio = round((real.requestsPerSecond / grouped.requestsPerSecond) * 100, 1);

    console.log('');
    console.log(`${CONNECTIONS} connections, ${ROOMS} room(s), ${DURATION_S} s each`);
    console.log('| target | req/s | p50 ms | p99 ms | server CPU µs/request | errors |');
    console.log('|---|---|---|---|---|---|');
    for (const r of [real, grouped, single]) console.log(`| ${r.target} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.cpuUsPerRequest} | ${r.errors} |`);
    console.log(`\nPOST /api/messages/:room_id = ${ratio}% of the same-SQL bare route (target >= 60%)`);
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ durationS: DURATION_S, connections: CONNECTIONS, rooms: ROOMS, results: [real, grouped, single], ratio }, null, 2));
  } finally {
    for (const child of processes.reverse()) await stopProcess(child.process);
    await db.drop();
  }
}

await main();
process.exit(0);
