/**
 * Capacity: how many idle authenticated WebSocket connections one instance holds under 1 GiB RSS.
 *
 *   npm run bench:capacity                     # up to 50,000 sockets
 *   npm run bench:capacity -- --max 5000       # other ceilings
 *   npm run bench:capacity -- --quick          # 2,000 sockets
 *   npm run bench:capacity -- --settle 30      # also the RSS 30 s after the last socket opened
 *   npm run bench:capacity -- --json out.json
 *   npm run bench:capacity -- --node-options '--optimize-for-size'   # V8 settings of the server
 *   npm run bench:capacity -- --per-client 5000     # sockets per client process (default)
 *   npm run bench:capacity -- --step 2500 --pause 5   # RSS sampled every 2,500 sockets after 5 s idle
 *   npm run bench:capacity -- --heap-snapshot-at 10000 --heap-snapshot-dir DIR   # server heap
 *                                              # snapshots with no socket and at 10,000 (summarise
 *                                              # them with bench/lib/heap-summary.ts)
 *
 * Starts one real server process (src/server.ts, production settings) on its own database and
 * Redis db, seeds one user per socket, and opens authenticated /ws/chat sockets in batches until
 * the server's RSS reaches the limit or the ceiling is reached, printing RSS as it goes.
 *
 * 50,000 sockets need 50,000 descriptors on each side and more source ports than one loopback
 * address has: the clients run in several processes (each below its descriptor limit) and
 * connect from 127.0.0.2, 127.0.0.3, ... (`localAddress`, one ephemeral port range each). The
 * server's own descriptor limit is raised with prlimit where the kernel allows it; where it
 * does not (no CAP_SYS_RESOURCE above the hard limit), the run stops below that limit and says
 * so, and the RSS at the ceiling is projected from the measured cost per socket.
 *
 * The cost per socket is the slope of a least-squares line through the RSS sampled at several
 * counts (every --step sockets, each after --pause seconds without new sockets, so a burst of
 * handshake garbage is not counted as the sockets' own), not one delta from the idle process,
 * whose first sockets also load code and grow the heap's fixed part.
 * Loopback only; stops by itself.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSigner } from 'fast-jwt';
import WebSocket from 'ws';
import { BENCH_JWT_SECRET, freshDatabase, startChatServer, seedUsers, stopProcess } from './lib/setup.ts';
import { argValue, endProgress, hasFlag, progress, round, rssOf, sleep } from './lib/stats.ts';

const BATCH = 250;
/** Descriptors a process keeps for everything but sockets (database, Redis, files, pipes). */
const FD_RESERVE = 300;
/** Sockets per source address: well inside one ephemeral port range (32768-60999 by default). */
const SOCKETS_PER_ADDRESS = 20_000;
/** Sockets per client process by default: several processes share the handshakes' CPU, as many clients would. */
const SOCKETS_PER_CLIENT = 5_000;

export interface CapacityResult {
  sockets: number;
  /** The ceiling asked for (--max). */
  target: number;
  rssMiB: number;
  /** Highest RSS seen while the sockets were opening. */
  peakRssMiB: number;
  /** RSS `settleS` seconds after the last socket opened (null without --settle). */
  settledRssMiB: number | null;
  settleS: number;
  idleRssMiB: number;
  /** (RSS at the end − RSS with no socket) / sockets: the old single-delta figure. */
  perSocketKiB: number;
  /** Slope of the RSS sampled at every checkpoint: the marginal cost of one more socket. */
  marginalKiB: number;
  /** RSS at every checkpoint (after the pause). */
  checkpoints: { sockets: number; rssMiB: number }[];
  projectedUnder1GiB: number;
  /** RSS the fitted line gives at `target` sockets. */
  projectedRssAtTargetMiB: number;
  serverFdLimit: number;
  clientProcesses: number;
  stoppedBecause: string;
}

// ---------------------------------------------------------------------------------------------
// Client processes: each holds its share of the sockets.

type ToClient = { type: 'open'; port: number; tokens: string[]; addresses: string[] } | { type: 'close' };
type FromClient = { type: 'opened'; opened: number; failure: string | null };

function runClient(): void {
  const sockets: WebSocket[] = [];
  let next = 0;
  const openOne = (port: number, token: string, localAddress: string) =>
    new Promise<string | null>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/chat?token=${token}`, { localAddress });
      socket.once('open', () => {
        sockets.push(socket);
        resolve(null);
      });
      socket.once('error', (error) => resolve(error.message));
    });
  process.on('message', (message: ToClient) => {
    if (message.type === 'close') {
      for (const socket of sockets) socket.terminate();
      process.exit(0);
    }
    void (async () => {
      const outcomes = await Promise.all(message.tokens.map((token) => openOne(message.port, token, message.addresses[next++ % message.addresses.length]!)));
      const failure = outcomes.find((outcome) => outcome !== null) ?? null;
      process.send?.({ type: 'opened', opened: outcomes.filter((outcome) => outcome === null).length, failure } satisfies FromClient);
    })();
  });
}

// ---------------------------------------------------------------------------------------------
// Descriptor limits.

function fdLimitOf(pid: number | 'self'): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((row) => row.startsWith('Max open files'));
  const soft = line?.trim().split(/\s+/)[3];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

/** Raises a process's descriptor limit to `wanted` if the kernel lets us; returns the limit it has. */
function raiseFdLimit(pid: number, wanted: number): number {
  try {
    execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${wanted}:${wanted}`], { stdio: 'ignore' });
  } catch {
    // Above the hard limit without CAP_SYS_RESOURCE: keep what it has.
  }
  return fdLimitOf(pid);
}

function startClient(index: number): ChildProcess {
  const child = fork(fileURLToPath(import.meta.url), ['--client-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) console.error(`client ${index} exited with ${code}`);
  });
  return child;
}

function request(child: ChildProcess, message: ToClient): Promise<FromClient> {
  return new Promise((resolve) => {
    child.once('message', (reply: FromClient) => resolve(reply));
    child.send(message);
  });
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/** Least-squares line through (x, y) points. */
export function fitLine(points: readonly { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / n;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / n;
  const sxy = points.reduce((sum, point) => sum + (point.x - meanX) * (point.y - meanY), 0);
  const sxx = points.reduce((sum, point) => sum + (point.x - meanX) ** 2, 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

/** Asks the server (started with --heapsnapshot-signal) for a heap snapshot; resolves once written. */
async function heapSnapshot(pid: number, dir: string, label: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let lastSize = -1; ; ) {
    await sleep(1000);
    const file = readdirSync(dir).find((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === lastSize) {
      renameSync(join(dir, file), join(dir, `${label}.heapsnapshot`));
      return;
    }
    lastSize = size;
  }
}

// ---------------------------------------------------------------------------------------------
// The run.

async function main(): Promise<CapacityResult> {
  const quick = hasFlag('quick');
  const target = Number(argValue('max') ?? (quick ? 2000 : 50_000));
  const rssLimit = Number(argValue('rss-mib') ?? 1024) * 1024 * 1024;
  const settleS = Number(argValue('settle') ?? 0);
  const step = Number(argValue('step') ?? (quick ? 500 : 2500));
  const pauseS = Number(argValue('pause') ?? 3);
  const snapshotAt = Number(argValue('heap-snapshot-at') ?? 0);
  const snapshotDir = resolve(argValue('heap-snapshot-dir') ?? 'bench/heap');
  const wantedFds = target + FD_RESERVE;

  const db = await freshDatabase('bigtech_bench_capacity', 10);
  const clients: ChildProcess[] = [];
  let server: Awaited<ReturnType<typeof startChatServer>> | undefined;
  try {
    const userIds = await seedUsers(db.databaseUrl, target, 'capbench');
    const nodeOptions = argValue('node-options');
    if (snapshotAt > 0) mkdirSync(snapshotDir, { recursive: true });
    const snapshotArgs = snapshotAt > 0 ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [];
    server = await startChatServer(db, { MAX_CONNECTIONS: String(wantedFds), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) }, snapshotArgs);
    const pid = server.process.pid!;
    const serverFdLimit = raiseFdLimit(pid, wantedFds);
    const ceiling = Math.min(target, serverFdLimit - FD_RESERVE);
    const perClient = Math.max(BATCH, Math.min(Number(argValue('per-client') ?? SOCKETS_PER_CLIENT), fdLimitOf('self') - FD_RESERVE));
    const clientCount = Math.ceil(ceiling / perClient);
    for (let i = 0; i < clientCount; i += 1) clients.push(startClient(i));
    const addresses = Array.from({ length: Math.max(2, Math.ceil(ceiling / SOCKETS_PER_ADDRESS) + 1) }, (_, i) => `127.0.0.${2 + i}`);
    console.log(
      `target ${target} sockets; server descriptor limit ${serverFdLimit}${ceiling < target ? ` (the kernel refused more): ceiling ${ceiling}` : ''}; ` +
        `${clientCount} client processes; source addresses ${addresses[0]}-${addresses.at(-1)}`,
    );

    await sleep(1000);
    if (snapshotAt > 0) await heapSnapshot(pid, snapshotDir, 'sockets-0');
    const idleRss = rssOf(pid);
    const checkpoints: { sockets: number; rss: number }[] = [];
    let nextCheckpoint = step;
    const sign = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' });
    const now = Math.floor(Date.now() / 1000);
    let opened = 0;
    let peakRss = idleRss;
    let stoppedBecause = ceiling < target ? `server descriptor limit ${serverFdLimit} (hard limit; prlimit refused more)` : `reached --max ${target}`;
    for (let start = 0; start < ceiling; start += BATCH * clients.length) {
      // One batch per client process at once.
      const replies = await Promise.all(
        clients.map((client, i) => {
          const from = start + i * BATCH;
          const tokens = userIds.slice(from, Math.min(from + BATCH, ceiling)).map((userId) => sign({ sub: String(userId), jti: randomUUID(), iat: now, exp: now + 7200 }));
          return tokens.length === 0 ? { type: 'opened' as const, opened: 0, failure: null } : request(client, { type: 'open', port: server!.port, tokens, addresses });
        }),
      );
      opened += replies.reduce((sum, reply) => sum + reply.opened, 0);
      const rss = rssOf(pid);
      peakRss = Math.max(peakRss, rss);
      progress(`  ${opened} sockets, server RSS ${round(rss / 1024 / 1024)} MiB`);
      const failure = replies.find((reply) => reply.failure !== null)?.failure;
      if (failure) {
        stoppedBecause = `could not open more sockets: ${failure}`;
        break;
      }
      if (rss >= rssLimit) {
        stoppedBecause = `server RSS reached ${round(rssLimit / 1024 / 1024, 0)} MiB`;
        break;
      }
      if (opened >= nextCheckpoint || opened >= ceiling) {
        await sleep(pauseS * 1000);
        checkpoints.push({ sockets: opened, rss: rssOf(pid) });
        nextCheckpoint += step;
      }
      if (snapshotAt > 0 && opened >= snapshotAt && opened - BATCH * clients.length < snapshotAt) await heapSnapshot(pid, snapshotDir, `sockets-${opened}`);
    }
    endProgress();
    await sleep(2000);
    const rss = rssOf(pid);
    peakRss = Math.max(peakRss, rss);
    if (checkpoints.at(-1)?.sockets !== opened) checkpoints.push({ sockets: opened, rss });
    const line = fitLine(checkpoints.map((point) => ({ x: point.sockets, y: point.rss })));
    let settledRss: number | null = null;
    if (settleS > 0) {
      await sleep(settleS * 1000);
      settledRss = rssOf(pid);
    }
    const perSocket = (rss - idleRss) / opened;
    return {
      sockets: opened,
      target,
      rssMiB: round(rss / 1024 / 1024),
      peakRssMiB: round(peakRss / 1024 / 1024),
      settledRssMiB: settledRss === null ? null : round(settledRss / 1024 / 1024),
      settleS,
      idleRssMiB: round(idleRss / 1024 / 1024),
      perSocketKiB: round(perSocket / 1024),
      marginalKiB: round(line.slope / 1024, 2),
      checkpoints: checkpoints.map((point) => ({ sockets: point.sockets, rssMiB: round(point.rss / 1024 / 1024) })),
      projectedUnder1GiB: Math.floor((rssLimit - line.intercept) / line.slope),
      projectedRssAtTargetMiB: round((line.intercept + line.slope * target) / 1024 / 1024),
      serverFdLimit,
      clientProcesses: clients.length,
      stoppedBecause,
    };
  } finally {
    for (const client of clients) if (client.connected) client.send({ type: 'close' } satisfies ToClient);
    await sleep(500);
    if (server) await stopProcess(server.process);
    await db.drop();
  }
}

if (process.argv.includes('--client-worker')) {
  runClient();
} else {
  const result = await main();
  const jsonOut = argValue('json');
  console.log('');
  console.log('RSS at each checkpoint: ' + result.checkpoints.map((point) => `${point.sockets}: ${point.rssMiB} MiB`).join(', '));
  console.log('');
  console.log('| idle sockets held | server RSS MiB | peak RSS MiB | RSS with no sockets MiB | KiB per socket (one delta) | marginal KiB per socket (slope) | projected sockets under 1 GiB | projected RSS at target MiB | stopped because |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${result.sockets} | ${result.rssMiB}${result.settledRssMiB === null ? '' : ` (${result.settledRssMiB} after ${result.settleS} s)`} | ${result.peakRssMiB} | ${result.idleRssMiB} | ${result.perSocketKiB} | ${result.marginalKiB} | ${result.projectedUnder1GiB} | ${result.projectedRssAtTargetMiB} at ${result.target} | ${result.stoppedBecause} |`,
  );
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2));
  process.exit(0);
}
