/**
 * The flood recipe of issue 11, against two production-mode instances at the default abuse
 * limits, with the flooding clients in a process of their own:
 *
 * - one user runs 24 concurrent loops of `GET /api/chat-rooms?limit=100` on instance A (the call
 *   that once exhausted the database pool and crashed an instance);
 * - another user floods message sends into a room: REST loops on both instances and several
 *   WebSockets (on both) each sending at the per-connection frame rate, all with a
 *   client_message_id.
 *
 * Meanwhile this process times two other users' `GET /api/chat-rooms` on A (10 a second each), probes
 * `/api/health/live` on both instances every 50 ms, and an observer socket (on A) collects the
 * room's `message` frames. Afterwards every stored message must have been acknowledged to its
 * sender and published (rows = acks = events seen), and both instances must still run.
 * Targets (issue 11): `/api/health/live` under 100 ms throughout; others' p99 under 250 ms.
 *
 *   npm run bench:flood                       # 20 s of flood
 *   npm run bench:flood -- --quick            # 8 s
 *   npm run bench:flood -- --cpu-prof         # also a CPU profile of instance A, summarised
 *   npm run bench:flood -- --concurrency-per-user 1000   # API_CONCURRENCY_PER_USER out of the way ("before")
 *   npm run bench:flood -- --server-node-args "--max-semi-space-size=64"
 *   npm run bench:flood -- --json out.json
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSigner } from 'fast-jwt';
import { Redis } from 'ioredis';
import mariadb, { type Connection } from 'mariadb';
import WebSocket from 'ws';
import { parseMysqlUrl } from '../src/db/mysql-url.ts';
import { summarizeStalls, type StallSummary } from './lib/cpu-profile.ts';
import { BENCH_JWT_SECRET, BENCH_REDIS, type BenchDatabase, freshDatabase, seedUsers, startChatServer, stopProcess } from './lib/setup.ts';
import { argValue, cpuMeter, endProgress, hasFlag, percentile, pidsNamed, progress, round, sleep } from './lib/stats.ts';

const quick = hasFlag('quick');
const DURATION_S = Number(argValue('duration') ?? (quick ? 8 : 20));
const ROOM_LOOPS = 24;
const FLOOD_ROOMS = 150;
const REST_SEND_LOOPS = 4;
const WS_SENDERS = 4;
const PROBE_EVERY_MS = 50;
/** Each other user's pace: 10 calls a second, 220 in a run, well within API_RATE_PER_USER. */
const OTHERS_EVERY_MS = 100;
const JSON_OUT = argValue('json');
const CPU_PROF = hasFlag('cpu-prof');
/** Extra Node flags for both servers, space-separated (`--max-semi-space-size=64`: GC experiments). */
const SERVER_NODE_ARGS = (argValue('server-node-args') ?? '').split(' ').filter(Boolean);
/** API_CONCURRENCY_PER_USER for both instances (default: the server's own default). */
const CONCURRENCY_PER_USER = argValue('concurrency-per-user');
const TARGET_HEALTH_MS = 100;
const TARGET_OTHERS_P99_MS = 250;

/** The contract's defaults: the flood must run into the real limits (startChatServer raises them). */
const DEFAULT_LIMITS = {
  API_RATE_PER_USER: '600',
  API_RATE_PER_IP: '1200',
  MESSAGE_RATE_PER_USER: '20',
  MESSAGE_BURST_PER_USER: '40',
  ROOM_CREATE_PER_HOUR: '30',
  MAX_SOCKETS_PER_USER: '20',
  MAX_STREAMS_PER_USER: '10',
  ...(CONCURRENCY_PER_USER ? { API_CONCURRENCY_PER_USER: CONCURRENCY_PER_USER } : {}),
};

/** What the flooding process is told (as JSON in a file). */
interface FloodPlan {
  bases: [string, string];
  roomsToken: string;
  senderToken: string;
  messageRoomId: number;
  durationS: number;
  out: string;
}

/** What the flooding process reports. */
interface FloodReport {
  roomsCalls: number;
  rooms429: number;
  roomsOther: number;
  restSent: number;
  restCreated: string[];
  rest429: number;
  restOther: number;
  wsSent: number;
  wsAcked: string[];
  wsRateLimited: number;
  wsOther: number;
  wsClosed: number;
  /** Unexpected answers, by REST status (0: no answer) or WebSocket error code. */
  unexpected: Record<string, number>;
  /** The flooding process's own CPU from the go to its report, seconds. */
  cpuSeconds: number;
}

export interface FloodResult {
  durationS: number;
  loadAverage: number[];
  flood: { roomsCalls: number; rooms429: number; roomsOther: number; messageSends: number; message429: number; messageOther: number };
  others: { requests: number; p50: number; p99: number; max: number; errors: number };
  health: { instance: string; probes: number; p50: number; p99: number; max: number; over100: number; errors: number }[];
  /** The orchestrator's own event-loop delay p99/max (ms): what of the probe times is the client's. */
  clientLoopDelay: { p99: number; max: number };
  messages: { stored: number; acked: number; published: number; storedNotAcked: number; storedNotPublished: number; ackedNotStored: number };
  instancesRunning: number;
  /** CPU seconds of each process from the go to the flooder's exit (`seconds` of wall time, the acks' 1.5 s included). */
  cpu: { seconds: number; byProcess: Record<string, number> };
  profile?: StallSummary;
}

// ---------------------------------------------------------------------------------------------
// The flooding process (bench/flood.ts --flooder plan.json)
// ---------------------------------------------------------------------------------------------

async function readStatus(res: Response): Promise<number> {
  await res.arrayBuffer();
  return res.status;
}

async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

async function runFlooder(planFile: string): Promise<void> {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as FloodPlan;
  const report: FloodReport = {
    roomsCalls: 0, rooms429: 0, roomsOther: 0,
    restSent: 0, restCreated: [], rest429: 0, restOther: 0,
    wsSent: 0, wsAcked: [], wsRateLimited: 0, wsOther: 0, wsClosed: 0, unexpected: {}, cpuSeconds: 0,
  };
  const unexpected = (what: string) => (report.unexpected[what] = (report.unexpected[what] ?? 0) + 1);
  const [baseA, baseB] = plan.bases;
  const sockets = await Promise.all(
    Array.from({ length: WS_SENDERS }, (_, i) => openSocket(`${(i % 2 === 0 ? baseB : baseA).replace(/^http/, 'ws')}/ws/chat?token=${plan.senderToken}`)),
  );
  for (const socket of sockets) {
    socket.on('close', () => (report.wsClosed += 1));
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; code?: string; message?: { id: string } };
      if (frame.type === 'ack' && frame.message) report.wsAcked.push(frame.message.id);
      else if (frame.type === 'error' && frame.code === 'RATE_LIMITED') report.wsRateLimited += 1;
      else if (frame.type === 'error') {
        report.wsOther += 1;
        unexpected(`ws ${frame.code ?? '?'}`);
      }
    });
  }
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const cpuAtGo = process.cpuUsage();

  const until = Date.now() + plan.durationS * 1000;
  const roomLoop = async () => {
    while (Date.now() < until) {
      const status = await fetch(`${baseA}/api/chat-rooms?limit=100`, { headers: { authorization: `Bearer ${plan.roomsToken}` } }).then(readStatus, () => 0);
      report.roomsCalls += 1;
      if (status === 429) report.rooms429 += 1;
      else if (status !== 200) {
        report.roomsOther += 1;
        unexpected(`rooms ${status}`);
      }
    }
  };
  const restLoop = async (i: number) => {
    const base = i % 2 === 0 ? baseA : baseB;
    while (Date.now() < until) {
      report.restSent += 1;
      const res = await fetch(`${base}/api/messages/${plan.messageRoomId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${plan.senderToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: `rest flood ${report.restSent}`, client_message_id: randomUUID() }),
      }).catch(() => undefined);
      const body = res ? ((await res.json().catch(() => ({}))) as { message?: { id: string } }) : {};
      if (res?.status === 201 && body.message) report.restCreated.push(body.message.id);
      else if (res?.status === 429) report.rest429 += 1;
      else {
        report.restOther += 1;
        unexpected(`send ${res?.status ?? 0}`);
      }
    }
  };
  // At the per-connection frame rate (20 a second): what is refused is the user's message bucket.
  const wsTimers = sockets.map((socket) =>
    setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      report.wsSent += 1;
      socket.send(JSON.stringify({ type: 'message', room_id: plan.messageRoomId, content: `ws flood ${report.wsSent}`, temp_id: randomUUID() }));
    }, 50),
  );
  await Promise.all([...Array.from({ length: ROOM_LOOPS }, roomLoop), ...Array.from({ length: REST_SEND_LOOPS }, (_, i) => restLoop(i))]);
  for (const timer of wsTimers) clearInterval(timer);
  // The last sends' acks.
  await sleep(1500);
  for (const socket of sockets) socket.close();
  const cpu = process.cpuUsage(cpuAtGo);
  report.cpuSeconds = round((cpu.user + cpu.system) / 1e6, 2);
  writeFileSync(plan.out, JSON.stringify(report));
}

// ---------------------------------------------------------------------------------------------
// The orchestrator
// ---------------------------------------------------------------------------------------------

async function claimRedisDb(admin: Redis, runId: string): Promise<number> {
  for (let index = 15; index >= 1; index -= 1) {
    if (await admin.set(`bigtech:test-run:db:${index}`, runId, 'EX', 3600, 'NX')) return index;
  }
  throw new Error('no free Redis db index');
}

async function withConnection<T>(databaseUrl: string, work: (conn: Connection) => Promise<T>): Promise<T> {
  const { connection, database } = parseMysqlUrl(databaseUrl);
  const conn = await mariadb.createConnection({ ...connection, database });
  try {
    return await work(conn);
  } finally {
    await conn.end();
  }
}

/** A group room with these members (the first owns it) and `messages` messages by the owner. */
async function seedRoom(conn: Connection, name: string, members: readonly number[], messages: number): Promise<number> {
  const room = await conn.query<{ insertId: bigint | number }>(
    "INSERT INTO rooms (type, name, max_members, created_by, updated_at, last_message_at) VALUES ('group', ?, 100, ?, NOW(3), NOW(3))",
    [name, members[0]],
  );
  const roomId = Number(room.insertId);
  await conn.batch('INSERT INTO room_members (room_id, user_id, role) VALUES (?, ?, ?)', members.map((userId, i) => [roomId, userId, i === 0 ? 'owner' : 'member']));
  if (messages > 0) {
    await conn.batch(
      'INSERT INTO messages (room_id, seq, user_id, content) VALUES (?, ?, ?, ?)',
      Array.from({ length: messages }, (_, i) => [roomId, i + 1, members[0], `seeded message ${i + 1} of ${name}, long enough to look like a real one`]),
    );
    await conn.query('INSERT INTO message_sequences (room_id, last_seq) VALUES (?, ?)', [roomId, messages]);
  }
  return roomId;
}

interface Seeded {
  roomsFlooder: number;
  sender: number;
  victims: number[];
  observer: number;
  messageRoomId: number;
}

async function seed(db: BenchDatabase): Promise<Seeded> {
  const [roomsFlooder, sender, victimA, victimB, observer, ...fillers] = await seedUsers(db.databaseUrl, 10, 'floodbench');
  return withConnection(db.databaseUrl, async (conn) => {
    // The rooms flooder is in 150 rooms with a few messages each: a full page of 100 is a large answer.
    for (let i = 0; i < FLOOD_ROOMS; i += 1) await seedRoom(conn, `flooded ${i}`, [roomsFlooder!, fillers[i % fillers.length]!, fillers[(i + 1) % fillers.length]!], 3);
    for (let i = 0; i < 10; i += 1) await seedRoom(conn, `others ${i}`, [victimA!, victimB!, fillers[i % fillers.length]!], 3);
    const messageRoomId = await seedRoom(conn, 'message flood', [sender!, observer!, victimA!], 0);
    return { roomsFlooder: roomsFlooder!, sender: sender!, victims: [victimA!, victimB!], observer: observer!, messageRoomId };
  });
}

interface Probe {
  ms: number;
  ok: boolean;
}

/** GET `url` every `everyMs` until `running()` is false (a slow answer delays the next probe). */
async function probe(url: string, everyMs: number, running: () => boolean): Promise<Probe[]> {
  const probes: Probe[] = [];
  while (running()) {
    const started = performance.now();
    const status = await fetch(url).then(readStatus, () => 0);
    const ms = performance.now() - started;
    probes.push({ ms, ok: status === 200 });
    await sleep(Math.max(0, everyMs - ms));
  }
  return probes;
}

/**
 * `GET /api/chat-rooms` as one ordinary user, one every OTHERS_EVERY_MS (a slow answer delays the
 * next). Paced, not a closed loop: once the rooms pages got cheap, a closed loop ran past the
 * user's own API_RATE_PER_USER (600 a minute) within the run and timed its own 429s.
 */
async function otherUser(base: string, token: string, running: () => boolean, into: Probe[]): Promise<void> {
  while (running()) {
    const started = performance.now();
    const status = await fetch(`${base}/api/chat-rooms`, { headers: { authorization: `Bearer ${token}` } }).then(readStatus, () => 0);
    const ms = performance.now() - started;
    into.push({ ms, ok: status === 200 });
    await sleep(Math.max(0, OTHERS_EVERY_MS - ms));
  }
}

/** An observer socket joined to the room: the ids of the `message` frames it gets. */
async function observe(base: string, token: string, roomId: number): Promise<{ ids: Set<string>; close: () => void }> {
  const socket = await openSocket(`${base.replace(/^http/, 'ws')}/ws/chat/${roomId}?token=${token}`);
  const ids = new Set<string>();
  const joined = new Promise<void>((resolve) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; message?: { id: string } };
      if (frame.type === 'joined') resolve();
      if (frame.type === 'message' && frame.message) ids.add(frame.message.id);
    });
  });
  await joined;
  return { ids, close: () => socket.close() };
}

function startFlooder(planFile: string): { ready: Promise<void>; go: () => void; done: Promise<void> } {
  // This file, wherever it runs from: the servers are the working directory's (src/server.ts), so
  // another checkout's servers can be measured with this harness (A/B rounds).
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--flooder', planFile], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the flooder exited with ${code} before it was ready`)));
  });
  const done = new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the flooder exited with ${code}`)))));
  return { ready, go: () => child.stdin.write('go\n'), done };
}

const summarize = (samples: Probe[]) => {
  const ms = samples.map((sample) => sample.ms);
  return { count: samples.length, p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), max: round(Math.max(...ms)), errors: samples.filter((s) => !s.ok).length };
};

async function storedIds(db: BenchDatabase, roomId: number): Promise<string[]> {
  return withConnection(db.databaseUrl, async (conn) => {
    const rows = await conn.query<{ id: bigint | number }[]>('SELECT id FROM messages WHERE room_id = ?', [roomId]);
    return rows.map((row) => String(row.id));
  });
}

const missingFrom = (ids: Iterable<string>, set: Set<string>) => [...ids].filter((id) => !set.has(id)).length;

async function main(): Promise<void> {
  const runId = `flood${Date.now().toString(36)}`;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'bigtech-flood-'));
  const admin = new Redis(`${BENCH_REDIS}/0`);
  const redisDb = await claimRedisDb(admin, runId);
  const db = await freshDatabase('bigtech_bench_flood', redisDb);
  const servers: Awaited<ReturnType<typeof startChatServer>>[] = [];
  try {
    const users = await seed(db);
    const profileDir = path.join(workDir, 'profile');
    servers.push(await startChatServer(db, DEFAULT_LIMITS, [...SERVER_NODE_ARGS, ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]));
    servers.push(await startChatServer(db, DEFAULT_LIMITS, SERVER_NODE_ARGS));
    const bases: [string, string] = [`http://127.0.0.1:${servers[0]!.port}`, `http://127.0.0.1:${servers[1]!.port}`];
    const sign = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' });
    const now = Math.floor(Date.now() / 1000);
    const token = (userId: number) => sign({ sub: String(userId), jti: randomUUID(), iat: now, exp: now + 7200 });

    // Warm both instances up (first requests load code and fill pools); none of it counts.
    for (const base of bases) {
      for (let i = 0; i < 20; i += 1) {
        await fetch(`${base}/api/health/live`).then(readStatus);
        await fetch(`${base}/api/chat-rooms`, { headers: { authorization: `Bearer ${token(users.victims[0]!)}` } }).then(readStatus);
      }
    }

    const planFile = path.join(workDir, 'plan.json');
    const reportFile = path.join(workDir, 'flooder.json');
    const plan: FloodPlan = { bases, roomsToken: token(users.roomsFlooder), senderToken: token(users.sender), messageRoomId: users.messageRoomId, durationS: DURATION_S, out: reportFile };
    writeFileSync(planFile, JSON.stringify(plan));
    const flooder = startFlooder(planFile);
    const observer = await observe(bases[0], token(users.observer), users.messageRoomId);
    await flooder.ready;
    console.error(`flood: ${ROOM_LOOPS} loops of GET /api/chat-rooms?limit=100 on A, ${REST_SEND_LOOPS} REST send loops and ${WS_SENDERS} sockets sending 20/s each (A and B), ${DURATION_S} s`);

    let running = true;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const others: Probe[] = [];
    const probing = bases.map((base) => probe(`${base}/api/health/live`, PROBE_EVERY_MS, () => running));
    const othersDone = users.victims.map((victim) => otherUser(bases[0], token(victim), () => running, others));
    // A second of calm first, then the flood; the probes run throughout.
    await sleep(1000);
    const started = Date.now();
    const cpu = cpuMeter({
      A: [servers[0]!.process.pid ?? 0],
      B: [servers[1]!.process.pid ?? 0],
      orchestrator: [process.pid],
      mariadbd: pidsNamed('mariadbd'),
      'redis-server': pidsNamed('redis-server'),
    });
    flooder.go();
    const ticker = setInterval(() => progress(`  flooding: ${Math.round((Date.now() - started) / 1000)}/${DURATION_S}s, others ${others.length} requests`), 1000);
    await flooder.done;
    const cpuSeconds = cpu.stop();
    const floodSeconds = (Date.now() - started) / 1000;
    clearInterval(ticker);
    endProgress();
    await sleep(1000);
    running = false;
    const [probesA, probesB] = await Promise.all(probing);
    await Promise.all(othersDone);
    loopDelay.disable();
    // Late events (published after the ack) reach the observer.
    await sleep(2000);
    observer.close();

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FloodReport;
    const stored = await storedIds(db, users.messageRoomId);
    const acked = new Set([...report.restCreated, ...report.wsAcked]);
    const storedSet = new Set(stored);
    const instancesRunning = servers.filter((server) => server.process.exitCode === null && server.process.signalCode === null).length;
    const health = [['A (flooded)', probesA!], ['B', probesB!]] as const;
    const othersSummary = summarize(others);
    const result: FloodResult = {
      durationS: DURATION_S,
      loadAverage: os.loadavg().map((load) => round(load, 2)),
      flood: {
        roomsCalls: report.roomsCalls,
        rooms429: report.rooms429,
        roomsOther: report.roomsOther,
        messageSends: report.restSent + report.wsSent,
        message429: report.rest429 + report.wsRateLimited,
        messageOther: report.restOther + report.wsOther,
      },
      others: { requests: othersSummary.count, p50: othersSummary.p50, p99: othersSummary.p99, max: othersSummary.max, errors: othersSummary.errors },
      health: health.map(([instance, probes]) => {
        const summary = summarize(probes);
        return { instance, probes: summary.count, p50: summary.p50, p99: summary.p99, max: summary.max, over100: probes.filter((p) => p.ms >= TARGET_HEALTH_MS).length, errors: summary.errors };
      }),
      clientLoopDelay: { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
      messages: {
        stored: stored.length,
        acked: acked.size,
        published: observer.ids.size,
        storedNotAcked: missingFrom(stored, acked),
        storedNotPublished: missingFrom(stored, observer.ids),
        ackedNotStored: missingFrom(acked, storedSet),
      },
      instancesRunning,
      cpu: { seconds: round(floodSeconds, 2), byProcess: { ...cpuSeconds, flooder: report.cpuSeconds } },
    };

    await Promise.all(servers.splice(0).map((server) => stopProcess(server.process)));
    if (CPU_PROF) {
      const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
      if (file) {
        result.profile = summarizeStalls(path.join(profileDir, file));
        console.log(`CPU profile of instance A: ${path.join(profileDir, file)}`);
      }
    }
    printResult(result, report);
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 2));
  } finally {
    await Promise.all(servers.map((server) => stopProcess(server.process)));
    await db.drop();
    await admin.del(`bigtech:test-run:db:${redisDb}`);
    admin.disconnect();
  }
}

const verdict = (ok: boolean) => (ok ? 'holds' : 'missed');

function printResult(result: FloodResult, report: FloodReport): void {
  const { flood, others, messages } = result;
  console.log('');
  console.log(`load average at the end: ${result.loadAverage.join(', ')} (${os.availableParallelism()} cores)`);
  console.log(`flood: ${flood.roomsCalls} GET /api/chat-rooms?limit=100 (${flood.rooms429} × 429, ${flood.roomsOther} other); ` +
    `${flood.messageSends} message sends (REST ${report.restSent}, WS ${report.wsSent}): ${flood.message429} refused, ${flood.messageOther} other errors, ${report.wsClosed} sockets closed` +
    (Object.keys(report.unexpected).length > 0 ? `; unexpected: ${JSON.stringify(report.unexpected)}` : ''));
  console.log(`other users' GET /api/chat-rooms on A: ${others.requests} requests, p50 ${others.p50} ms, p99 ${others.p99} ms, max ${others.max} ms, ${others.errors} errors`);
  console.log('');
  console.log('| /api/health/live | probes | p50 ms | p99 ms | max ms | ≥ 100 ms | errors |');
  console.log('|---|---|---|---|---|---|---|');
  for (const h of result.health) console.log(`| ${h.instance} | ${h.probes} | ${h.p50} | ${h.p99} | ${h.max} | ${h.over100} | ${h.errors} |`);
  const cores = (name: string) => `${name} ${result.cpu.byProcess[name]} s (${Math.round((100 * (result.cpu.byProcess[name] ?? 0)) / result.cpu.seconds)}%)`;
  console.log(`CPU during the flood (${result.cpu.seconds} s, % of one core): ${Object.keys(result.cpu.byProcess).map(cores).join(', ')}`);
  console.log(`(this process's own event-loop delay: p99 ${result.clientLoopDelay.p99} ms, max ${result.clientLoopDelay.max} ms)`);
  console.log('');
  console.log(`messages: ${messages.stored} stored, ${messages.acked} acknowledged, ${messages.published} published to the observer; ` +
    `stored but not acknowledged ${messages.storedNotAcked}, stored but not published ${messages.storedNotPublished}, acknowledged but not stored ${messages.ackedNotStored}`);
  if (result.profile) {
    const p = result.profile;
    console.log('');
    console.log(`CPU profile of A: ${p.totalMs} ms sampled, ${p.idleMs} ms idle, ${p.gcMs} ms in GC; self time:`);
    for (const entry of p.top) console.log(`  ${entry.ms} ms  ${entry.name}`);
    console.log('busy stretches of 40 ms or more (no idle sample), longest first:');
    for (const stall of p.stalls) console.log(`  at ${stall.atMs} ms: ${stall.ms} ms (GC ${stall.gcMs} ms): ${stall.top.map((t) => `${t.name} ${t.ms}`).join('; ')}`);
  }
  const worstHealth = Math.max(...result.health.map((h) => h.max));
  const messagesOk = messages.storedNotAcked === 0 && messages.storedNotPublished === 0 && messages.ackedNotStored === 0;
  console.log('');
  console.log(`targets: both instances still running (${result.instancesRunning}/2) → ${verdict(result.instancesRunning === 2)}; ` +
    `/api/health/live max ${worstHealth} ms < ${TARGET_HEALTH_MS} → ${verdict(worstHealth < TARGET_HEALTH_MS)}; ` +
    `others' p99 ${others.p99} ms < ${TARGET_OTHERS_P99_MS} → ${verdict(others.p99 < TARGET_OTHERS_P99_MS && others.errors === 0)}; ` +
    `every stored message acknowledged and published → ${verdict(messagesOk)}`);
}

const flooderPlan = argValue('flooder');
if (flooderPlan) await runFlooder(flooderPlan);
else await main();
process.exit(0);
