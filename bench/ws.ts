/**
 * WebSocket fan-out benchmark.
 *
 *   npm run bench:ws                      # 1,000 sockets in rooms of 10 over two instances
 *   npm run bench:ws -- --sockets 500 --rate 300 --duration 10
 *   npm run bench:ws -- --quick           # short run
 *   npm run bench:ws -- --json out.json   # also write the figures as JSON
 *   npm run bench:ws -- --against /work/main   # the chat servers of another checkout (A/B, same load generator)
 *   npm run bench:ws -- --no-baseline     # skip the bare `ws` server
 *   npm run bench:ws -- --profile dir     # each chat server under `node --cpu-prof` in dir/<n>; top frames of the load printed
 *
 * Starts two real server processes (src/server.ts) on their own database and Redis db, opens
 * the sockets (alternating instances, each joined to its room), sends chat messages at a fixed
 * rate from random members and measures, at the receivers, deliveries per second and end-to-end
 * latency (send time carried in the message). Then does the same against a bare `ws` broadcast
 * server (bench/baseline-ws-server.ts) as the ceiling, and prints the ratio and the target.
 * Loopback only; bounded in time. With BENCH_CPU_PROF_DIR set, each server process writes a
 * CPU profile there when it stops (node --cpu-prof).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import WebSocket from 'ws';
import { BENCH_JWT_SECRET, freshDatabase, seedGroupRooms, seedUsers, startChatServer, startProcess, stopProcess } from './lib/setup.ts';
import { formatSummary, profileIn, summarizeProfile } from './lib/cpu-profile.ts';
import { argValue, cpuSecondsOf, endProgress, hasFlag, percentile, progress, round, rssOf, sleep } from './lib/stats.ts';

const quick = hasFlag('quick');
const SOCKETS = Number(argValue('sockets') ?? (quick ? 300 : 1000));
const ROOM_SIZE = Number(argValue('room-size') ?? 10);
const RATE = Number(argValue('rate') ?? 200);
const DURATION_S = Number(argValue('duration') ?? (quick ? 5 : 10));
const JSON_OUT = argValue('json');
const AGAINST_DIR = argValue('against');
const PROFILE_DIR = argValue('profile');
const BASELINE = !hasFlag('no-baseline');

export interface FanoutResult {
  target: string;
  sockets: number;
  sent: number;
  acked: number;
  delivered: number;
  deliveriesPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  memoryPerSocketKiB: number;
  /** The servers' CPU time (user + system, all processes) over the sending window and its drain, per delivery. */
  serverCpuUsPerDelivery: number;
  /** The same CPU time per message sent. */
  serverCpuUsPerMessage: number;
  /** The servers' CPU use (percent of one core, summed) over IDLE_SAMPLE_MS before sending. */
  idleServerCpuPercent: number;
  /** serverCpuUsPerDelivery without that idle use over the window. */
  netServerCpuUsPerDelivery: number;
  errors: number;
}

interface Endpoint {
  url: string;
  roomOf: number;
  /** Which socket this is, for error messages. */
  label: string;
}

interface Client {
  socket: WebSocket;
  roomId: number;
}

/** How long a socket may take to open, and then to receive its first frame (the `joined`). */
const OPEN_TIMEOUT_MS = 15_000;
const FIRST_FRAME_TIMEOUT_MS = 15_000;

/** `promise`, or an error naming `what` was awaited after `ms`: no wait of the bench can hang it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What makes a socket ready, armed when the socket is created: the first frame may come in the
 * same read as the 101 response, and `ws` then emits it before an `open` handler's continuation
 * runs, so a listener attached after `open` misses it (the hang of the full run's target-rate case).
 */
type Readiness = (socket: WebSocket) => Promise<void>;

const firstFrame: Readiness = (socket) => new Promise((resolve) => socket.once('message', () => resolve()));

/** Opens one socket and waits until it is ready, each wait bounded and named. */
async function openOne(endpoint: Endpoint, ready: Readiness): Promise<Client> {
  const socket = new WebSocket(endpoint.url);
  const isReady = ready(socket);
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_, response) => reject(new Error(`${endpoint.label}: upgrade refused with HTTP ${response.statusCode}`)));
  });
  await within(opened, OPEN_TIMEOUT_MS, `${endpoint.label} (room ${endpoint.roomOf}) to open`);
  await within(isReady, FIRST_FRAME_TIMEOUT_MS, `${endpoint.label} (room ${endpoint.roomOf}) to receive its first frame after the upgrade`);
  return { socket, roomId: endpoint.roomOf };
}

/** Opens the sockets 50 at a time, waiting until each is ready. */
async function openAll(endpoints: Endpoint[], ready: Readiness): Promise<Client[]> {
  const clients: Client[] = [];
  const batch = 50;
  for (let start = 0; start < endpoints.length; start += batch) {
    clients.push(...(await Promise.all(endpoints.slice(start, start + batch).map((endpoint) => openOne(endpoint, ready)))));
    progress(`  connected ${clients.length}/${endpoints.length}`);
  }
  endProgress();
  return clients;
}

const WARMUP_SOCKETS = 50;
const IDLE_SAMPLE_MS = 2000;

/**
 * Opens the first WARMUP_SOCKETS (the server's first connections load code and fill pools),
 * then the rest; memory per socket is the servers' RSS growth over the rest only.
 */
async function openMeasured(endpoints: Endpoint[], ready: Readiness, serverPids: number[]) {
  const warm = await openAll(endpoints.slice(0, WARMUP_SOCKETS), ready);
  await sleep(500);
  const rssOfServers = () => serverPids.reduce((sum, pid) => sum + rssOf(pid), 0);
  const before = rssOfServers();
  const rest = await openAll(endpoints.slice(WARMUP_SOCKETS), ready);
  await sleep(1000);
  const memoryPerSocketKiB = (rssOfServers() - before) / Math.max(1, rest.length) / 1024;
  return { clients: [...warm, ...rest], memoryPerSocketKiB };
}

/** Sends at RATE messages/s for DURATION_S from random sockets and measures deliveries. */
async function drive(label: string, clients: Client[], frameFor: (client: Client, sentAt: number) => string, memoryPerSocketKiB: number, serverPids: number[]): Promise<FanoutResult> {
  const serverCpu = () => serverPids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const latencies: number[] = [];
  let delivered = 0;
  let acked = 0;
  let errors = 0;
  let measuring = false;
  for (const client of clients) {
    client.socket.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"type":"error"')) errors += 1;
      if (text.startsWith('{"type":"ack"')) {
        acked += 1;
        return;
      }
      const match = /"sent_at\\?":(\d+)/.exec(text);
      if (!match || !measuring) return;
      delivered += 1;
      latencies.push(Date.now() - Number(match[1]));
    });
  }

  // The servers' CPU while nothing is sent (upkeep, and what the sockets' joins left over):
  // reported, and taken out of the net figure, so that a low rate measures the deliveries.
  const idleStart = serverCpu();
  await sleep(IDLE_SAMPLE_MS);
  const idleCpuPerMs = (serverCpu() - idleStart) / IDLE_SAMPLE_MS;
  const tickMs = 10;
  let sent = 0;
  measuring = true;
  const cpuBefore = serverCpu();
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= DURATION_S * 1000) {
        clearInterval(timer);
        resolve();
        return;
      }
      // As many as are due by now: a late timer (a busy load generator) catches up instead of sending less than asked.
      const due = Math.floor((elapsed * RATE) / 1000);
      while (sent < due) {
        const client = clients[Math.floor(Math.random() * clients.length)]!;
        client.socket.send(frameFor(client, Date.now()));
        sent += 1;
      }
      if (elapsed % 1000 < tickMs) progress(`  ${label}: ${Math.round(elapsed / 1000)}s sent ${sent} delivered ${delivered}`);
    }, tickMs);
  });
  await sleep(1500);
  measuring = false;
  const cpuSeconds = serverCpu() - cpuBefore;
  const netCpuSeconds = Math.max(0, cpuSeconds - idleCpuPerMs * (Date.now() - started));
  endProgress();
  const windowS = DURATION_S;
  return {
    target: label,
    sockets: clients.length,
    sent,
    acked,
    delivered,
    deliveriesPerSecond: round(delivered / windowS, 0),
    p50: round(percentile(latencies, 50)),
    p95: round(percentile(latencies, 95)),
    p99: round(percentile(latencies, 99)),
    memoryPerSocketKiB: round(memoryPerSocketKiB),
    serverCpuUsPerDelivery: round((cpuSeconds * 1e6) / Math.max(1, delivered)),
    serverCpuUsPerMessage: round((cpuSeconds * 1e6) / Math.max(1, sent)),
    idleServerCpuPercent: round(idleCpuPerMs * 1000 * 100),
    netServerCpuUsPerDelivery: round((netCpuSeconds * 1e6) / Math.max(1, delivered)),
    errors,
  };
}

async function benchChatServer(): Promise<FanoutResult> {
  console.error(`chat server: ${SOCKETS} sockets in rooms of ${ROOM_SIZE} over two instances, ${RATE} msg/s for ${DURATION_S}s`);
  const db = await freshDatabase('bigtech_bench_ws', 13);
  const servers: Awaited<ReturnType<typeof startProcess>>[] = [];
  try {
    const userIds = await seedUsers(db.databaseUrl, SOCKETS, 'wsbench');
    const roomIds = await seedGroupRooms(db.databaseUrl, userIds, ROOM_SIZE);
    const script = AGAINST_DIR ? path.resolve(AGAINST_DIR, 'src/server.ts') : 'src/server.ts';
    for (let i = 0; i < 2; i += 1) servers.push(await startChatServer(db, {}, profileArgs(i), script));
    await sleep(500);
    const pids = servers.map((server) => server.process.pid!);
    const sign = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' });
    const now = Math.floor(Date.now() / 1000);
    const endpoints = userIds.map((userId, i) => {
      const roomId = roomIds[Math.floor(i / ROOM_SIZE)]!;
      const token = sign({ sub: String(userId), jti: randomUUID(), iat: now, exp: now + 3600 });
      const port = servers[i % 2]!.port;
      return { url: `ws://127.0.0.1:${port}/ws/chat/${roomId}?token=${token}`, roomOf: roomId, label: `socket ${i} (user ${userId}, instance :${port})` };
    });
    const { clients, memoryPerSocketKiB } = await openMeasured(endpoints, firstFrame, pids);
    const result = await drive('chat server (2 instances)', clients, (client, sentAt) =>
      JSON.stringify({ type: 'message', room_id: client.roomId, content: JSON.stringify({ sent_at: sentAt }), temp_id: randomUUID() }), memoryPerSocketKiB, pids);
    for (const client of clients) client.socket.terminate();
    await Promise.all(servers.map((server) => stopProcess(server.process)));
    printProfiles(result);
    return result;
  } finally {
    await Promise.all(servers.map((server) => stopProcess(server.process)));
    await db.drop();
  }
}

/** `--cpu-prof` into PROFILE_DIR/<instance>, when profiling. */
function profileArgs(instance: number): string[] {
  if (!PROFILE_DIR) return [];
  const dir = path.resolve(PROFILE_DIR, String(instance));
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** Each instance's top frames over the load window (plus the drain and shutdown, a few seconds). */
function printProfiles(result: FanoutResult): void {
  if (!PROFILE_DIR) return;
  for (let i = 0; i < 2; i += 1) {
    const title = `chat server ${i}: ${result.deliveriesPerSecond} deliveries/s, ${result.serverCpuUsPerDelivery} µs/delivery while profiled`;
    console.log(['', ...formatSummary(title, summarizeProfile(profileIn(path.resolve(PROFILE_DIR, String(i))), 30, (DURATION_S + 2) * 1000))].join('\n'));
  }
}

async function benchBaseline(): Promise<FanoutResult> {
  console.error(`bare ws broadcast server: same sockets, rooms and rate`);
  const server = await startProcess('bench/baseline-ws-server.ts', {}, /baseline listening on (\d+)/);
  try {
    await sleep(300);
    const endpoints = Array.from({ length: SOCKETS }, (_, i) => {
      const room = Math.floor(i / ROOM_SIZE);
      return { url: `ws://127.0.0.1:${server.port}/?room=${room}`, roomOf: room, label: `bare socket ${i}` };
    });
    const { clients, memoryPerSocketKiB } = await openMeasured(endpoints, async () => {}, [server.process.pid!]);
    const result = await drive('bare ws (1 process)', clients, (client, sentAt) => JSON.stringify({ room_id: client.roomId, sent_at: sentAt }), memoryPerSocketKiB, [server.process.pid!]);
    for (const client of clients) client.socket.terminate();
    return result;
  } finally {
    await stopProcess(server.process);
  }
}

function printTable(results: FanoutResult[]): void {
  console.log('');
  console.log('| target | sockets | sent | delivered | deliveries/s | p50 ms | p95 ms | p99 ms | server CPU µs/delivery | µs/message | idle CPU % | net µs/delivery | memory/socket KiB | errors |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.target} | ${r.sockets} | ${r.sent} | ${r.delivered} | ${r.deliveriesPerSecond} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.serverCpuUsPerDelivery} | ${r.serverCpuUsPerMessage} | ${r.idleServerCpuPercent} | ${r.netServerCpuUsPerDelivery} | ${r.memoryPerSocketKiB} | ${r.errors} |`);
  }
}

/** The persisted fan-out beside its ceiling, and the target (20,000 deliveries/s with p99 under 50 ms). */
function printVerdict([chat, bare]: FanoutResult[]): void {
  if (!chat || !bare) return;
  const ratio = round((chat.deliveriesPerSecond / Math.max(1, bare.deliveriesPerSecond)) * 100, 1);
  const holds = chat.deliveriesPerSecond >= 20_000 && chat.p99 < 50;
  console.log(`\npersisted fan-out: ${chat.deliveriesPerSecond} deliveries/s, p99 ${chat.p99} ms = ${ratio}% of the bare ws ceiling (${bare.deliveriesPerSecond}/s, p99 ${bare.p99} ms); target 20,000/s with p99 < 50 ms: ${holds ? 'holds' : 'missed'}`);
}

const results = BASELINE ? [await benchChatServer(), await benchBaseline()] : [await benchChatServer()];
printTable(results);
printVerdict(results);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ sockets: SOCKETS, roomSize: ROOM_SIZE, rate: RATE, durationS: DURATION_S, results }, null, 2));
process.exit(0);
