/**
 * `npm run bench`: every benchmark of the repo in one go, then bench/results.md.
 *
 *   npm run bench               # full run (about 10 minutes on 2 cores)
 *   npm run bench -- --quick    # short run (under two minutes), to bench/results-quick.md
 *
 * Each benchmark runs as its own process (its output is shown as it goes) and leaves its figures
 * in a JSON file; this script puts them in one Markdown report with the machine described and
 * the targets checked.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { calibrate } from './lib/calibrate.ts';
import path from 'node:path';
import { Redis } from 'ioredis';
import mariadb from 'mariadb';
import { parseMysqlUrl } from '../src/db/mysql-url.ts';
import type { BcryptResult } from './bcrypt.ts';
import type { CapacityResult } from './capacity.ts';
import type { FloodResult } from './flood.ts';
import { BENCH_MYSQL, BENCH_REDIS } from './lib/setup.ts';
import { hasFlag, round } from './lib/stats.ts';
import type { RecoveryResult } from './recovery.ts';
import { type RestResult, restTable } from './lib/rest-table.ts';
import type { MetricsOverhead } from './rest.ts';
import type { SeqResult } from './seq.ts';
import type { FanoutResult } from './ws.ts';
import type { SendResult } from './send.ts';

const quick = hasFlag('quick');
const outDir = mkdtempSync(path.join(os.tmpdir(), 'bigtech-bench-'));
const profilesDir = path.join('bench', 'profiles');
const timeNotes = path.join('bench', 'where-the-time-goes.md');
/** Hand-written before/after runs of single benchmarks, carried after the profiles. */
const roundsNotes = path.join('bench', 'rounds.md');

interface PresenceResult {
  streams: number;
  friendsPerStream: number;
  memoryPerStreamKiB: number;
  delivered: number;
  expected: number;
  p50: number;
  p99: number;
  eventsPerSecond: number;
}

/** Longest a single benchmark may take before it is stopped and reported as unfinished. */
const RUN_TIMEOUT_MS = (quick ? 6 : 20) * 60_000;

/**
 * Runs one benchmark in its own process group, so that a benchmark which hangs (or fails) is
 * stopped with every server it started, and the report still carries all the others.
 */
function run(label: string, script: string, args: string[]): Promise<string | null> {
  console.log(`\n=== ${label} ===`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit', detached: true });
    const timer = setTimeout(() => {
      console.error(`${script} ran longer than ${RUN_TIMEOUT_MS / 60_000} min: stopped`);
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(null);
      else resolve(signal === 'SIGKILL' ? `stopped after ${RUN_TIMEOUT_MS / 60_000} min` : `exited with ${code ?? signal}`);
    });
  });
}

const readJson = <T>(file: string): T | null => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null);

async function machine(): Promise<string[]> {
  const conn = await mariadb.createConnection(parseMysqlUrl(`${BENCH_MYSQL}/mysql`).connection);
  const rows = await conn.query<{ version: string }[]>('SELECT VERSION() AS version');
  const version = rows[0]?.version ?? '?';
  await conn.end();
  const redis = new Redis(`${BENCH_REDIS}/0`);
  const info = await redis.info('server');
  redis.disconnect();
  const cpus = os.cpus();
  const calibration = await calibrate();
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}; memory ${round(os.totalmem() / 1024 ** 3)} GiB; ${os.type()} ${os.release()}`,
    `- Node ${process.version}; MariaDB ${version}; Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}; all on the same machine, loopback only`,
    `- The load generators run on the same 2 cores as the server, MariaDB and Redis.`,
    `- Calibration, before the first benchmark (bench/lib/calibrate.ts): a fixed CPU loop in ${calibration.cpuLoopMs} ms; ${calibration.loopbackRoundTripsPerSecond} one-byte loopback TCP round trips/s between two Node processes. Compare runs on different machines by these first.`,
  ];
}

/** RSS deltas over a thousand sockets can come out negative (GC): shown as noise, not a figure. */
const memory = (kib: number) => (kib > 0 ? String(kib) : 'noise');

const holds = (ok: boolean) => (ok ? '**holds**' : '**missed**');

function metricsSection(m: MetricsOverhead): string[] {
  return [
    `## Prometheus metrics: cost on the cached history page (same run, ${m.rounds} alternating rounds of ${m.roundS} s per server)`,
    '',
    `Two fresh servers alike but for \`METRICS_ENABLED\`, loaded in turn; the one with metrics was scraped every ${m.scrapeEveryMs / 1000} s while loaded (${m.scrapes} scrapes; Prometheus scrapes every 15 s). Means over the rounds; CPU is the server process's user + system time per request.`,
    '',
    '| endpoint | req/s with metrics | req/s without | throughput cost | CPU µs/request with | without | CPU cost | errors |',
    '|---|---|---|---|---|---|---|---|',
    `| ${m.target} | ${m.withMetrics} | ${m.withoutMetrics} | ${m.overheadPercent}% | ${m.cpuPerRequestUs.withMetrics} | ${m.cpuPerRequestUs.withoutMetrics} | ${m.cpuOverheadPercent}% | ${m.errors} |`,
    '',
  ];
}


type FanoutRun = { sockets: number; rate: number; durationS: number; results: FanoutResult[] };

/** Each benchmark's figures, or null where it did not finish. */
interface RunData {
  rest: { durationS: number; connections: number; results: RestResult[]; metrics: MetricsOverhead } | null;
  ws: FanoutRun | null;
  wsTarget: FanoutRun | null;
  presence: PresenceResult | null;
  capacity: CapacityResult | null;
  /** The same with the production image's V8 settings. */
  capacityImage: CapacityResult | null;
  hashing: BcryptResult | null;
  seq: { durationS: number; results: SeqResult[] } | null;
  recovery: RecoveryResult | null;
  send: { durationS: number; connections: number; rooms: number; results: SendResult[]; ratio: number } | null;
  flood: FloodResult | null;
}

const MIB_PER_GIB = 1024;
const SOCKET_TARGET = 50_000;
/** The V8 settings the Dockerfile's runtime stage gives the server. */
const IMAGE_NODE_OPTIONS = /NODE_OPTIONS=(\S+)/.exec(readFileSync('Dockerfile', 'utf8'))?.[1] ?? '';

function restSection(rest: NonNullable<RunData['rest']>): string[] {
  return [
    `## REST (autocannon, ${rest.connections} connections, ${rest.durationS} s each)`,
    '',
    'Ceilings: a bare Fastify route returning the same bytes, and for the DB-bound targets a bare route running the same SQL through the same mariadb driver and pool settings, returning the rows.',
    '',
    ...restTable(rest.results),
    '',
    ...metricsSection(rest.metrics),
  ];
}

function sendSection(send: NonNullable<RunData['send']>): string[] {
  return [
    `## Message send (autocannon, ${send.connections} connections, ${send.rooms} room(s), ${send.durationS} s each; the bare routes run the send's SQL through the same driver and answer the same body)`,
    '',
    '| target | req/s | p50 ms | p99 ms | errors |',
    '|---|---|---|---|---|',
    ...send.results.map((r) => `| ${r.target} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.errors} |`),
    '',
  ];
}

function fanoutSection(ws: FanoutRun | null, wsTarget: FanoutRun | null): string[] {
  const runs = [
    ...(ws?.results.map((r) => ['steady', ws.rate, r] as const) ?? []),
    ...(wsTarget?.results.map((r) => ['target rate', wsTarget.rate, r] as const) ?? []),
  ];
  if (runs.length === 0) return [];
  return [
    '## WebSocket fan-out (rooms of 10, two server instances; the bare ws server is one process with no auth, storage or Redis)',
    '',
    '| run | target | sockets | msg/s sent | deliveries/s | p50 ms | p95 ms | p99 ms | memory/socket KiB | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      ([run, rate, r]) => `| ${run} | ${r.target} | ${r.sockets} | ${rate} | ${r.deliveriesPerSecond} | ${r.p50} | ${r.p95} | ${r.p99} | ${memory(r.memoryPerSocketKiB)} | ${r.errors} |`,
    ),
    '',
    'Memory per socket here is the RSS growth over 950 sockets, within the noise of garbage collection; the capacity run below measures it over thousands.',
    '',
  ];
}

function presenceSection(presence: PresenceResult): string[] {
  return [
    '## SSE presence',
    '',
    '| streams | friends per stream | events delivered | events/s | p50 ms | p99 ms | memory/stream KiB |',
    '|---|---|---|---|---|---|---|',
    `| ${presence.streams} | ${presence.friendsPerStream} | ${presence.delivered}/${presence.expected} | ${round(presence.eventsPerSecond, 0)} | ${round(presence.p50)} | ${round(presence.p99)} | ${round(presence.memoryPerStreamKiB)} |`,
    '',
  ];
}

function capacitySection(runs: readonly (readonly [string, CapacityResult])[]): string[] {
  if (runs.length === 0) return [];
  return [
    '## Capacity (one instance)',
    '',
    'KiB per socket is the slope of a line through the RSS sampled at every checkpoint (the marginal cost of one more socket); the projection follows that line to the target.',
    '',
    '| server settings | idle sockets held | server RSS MiB | RSS with no sockets MiB | marginal KiB per socket | projected RSS MiB at the target | projected sockets under 1 GiB | server fd limit | client processes | stopped because |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      ([settings, c]) =>
        `| ${settings} | ${c.sockets} | ${c.rssMiB} | ${c.idleRssMiB} | ${c.marginalKiB} | ${c.projectedRssAtTargetMiB} (${c.target}) | ${c.projectedUnder1GiB} | ${c.serverFdLimit} | ${c.clientProcesses} | ${c.stoppedBecause} |`,
    ),
    '',
  ];
}

function hashingSection(hashing: BcryptResult): string[] {
  return [
    `## Password hashing under load (${hashing.authClients} clients registering and logging in, bcrypt cost ${hashing.bcryptRounds}, BCRYPT_CONCURRENCY ${hashing.bcryptConcurrency}, ${hashing.durationS} s)`,
    '',
    `${hashing.registrationsPerSecond} registrations/s and ${hashing.loginsPerSecond} logins/s (their p95 ${hashing.authP95} ms, ${hashing.authErrors} errors), while these were timed:`,
    '',
    '| other request | count | p50 ms | p95 ms | p99 ms | errors |',
    '|---|---|---|---|---|---|',
    ...hashing.kinds.map((k) => `| ${k.kind} | ${k.count} | ${k.p50} | ${k.p95} | ${k.p99} | ${k.errors} |`),
    '',
  ];
}

function seqSection(seq: NonNullable<RunData['seq']>): string[] {
  return [
    `## Message seq (MySQL store, ${seq.durationS} s each)`,
    '',
    '| rooms | sends in flight | messages/s | p50 ms | p99 ms | rooms with a gap or duplicate |',
    '|---|---|---|---|---|---|',
    ...seq.results.map((r) => `| ${r.rooms} | ${r.concurrency} | ${r.messagesPerSecond} | ${r.p50} | ${r.p99} | ${r.gapsOrDuplicates} |`),
    '',
  ];
}

function recoverySection(recovery: RecoveryResult): string[] {
  return [
    '## Recovery and SSE chat streams',
    '',
    `- \`join\` with \`since\` → \`joined\` with ${recovery.events - 1} events replayed: p50 ${recovery.p50} ms, p99 ${recovery.p99} ms over ${recovery.runs} runs.`,
    `- ${recovery.sse.streams} \`GET /api/messages/stream/:room_id\` streams (rooms of 10), ${recovery.sse.messagesPerSecond} messages/s: ${recovery.sse.delivered}/${recovery.sse.expected} delivered, p50 ${recovery.sse.p50} ms, p99 ${recovery.sse.p99} ms.`,
    '',
  ];
}

function floodSection(flood: FloodResult): string[] {
  return [
    `## One user flooding (two instances, default limits, ${flood.durationS} s; load average at the end ${flood.loadAverage.join(', ')})`,
    '',
    `${flood.flood.roomsCalls} \`GET /api/chat-rooms?limit=100\` by one user in 24 loops (${flood.flood.rooms429} × 429), ${flood.flood.messageSends} message sends by another (${flood.flood.message429} refused, ${flood.flood.messageOther} other errors); other users' \`GET /api/chat-rooms\`: p50 ${flood.others.p50} ms, p99 ${flood.others.p99} ms, ${flood.others.errors} errors; the load generator's own event-loop delay: max ${flood.clientLoopDelay.max} ms.`,
    '',
    '| `/api/health/live` every 50 ms | probes | p50 ms | p99 ms | max ms | ≥ 100 ms |',
    '|---|---|---|---|---|---|',
    ...flood.health.map((h) => `| ${h.instance} | ${h.probes} | ${h.p50} | ${h.p99} | ${h.max} | ${h.over100} |`),
    '',
    `Messages: ${flood.messages.stored} stored, ${flood.messages.acked} acknowledged, ${flood.messages.published} published (stored but not acknowledged ${flood.messages.storedNotAcked}, not published ${flood.messages.storedNotPublished}).`,
    '',
  ];
}

function sections(d: RunData): string[] {
  return [
    ...(d.rest ? restSection(d.rest) : []),
    ...(d.send ? sendSection(d.send) : []),
    ...fanoutSection(d.ws, d.wsTarget),
    ...(d.presence ? presenceSection(d.presence) : []),
    ...capacitySection([
      ...(d.capacity ? [['Node defaults', d.capacity] as const] : []),
      ...(d.capacityImage ? [[`Docker image (${IMAGE_NODE_OPTIONS})`, d.capacityImage] as const] : []),
    ]),
    ...(d.hashing ? hashingSection(d.hashing) : []),
    ...(d.seq ? seqSection(d.seq) : []),
    ...(d.recovery ? recoverySection(d.recovery) : []),
    ...(d.flood ? floodSection(d.flood) : []),
  ];
}

/** One line per target: the figure, its ceiling where it has one, and whether it holds. */
function targetLines(d: RunData): string[] {
  const lines: string[] = [];
  const unfinished = (what: string) => lines.push(`- ${what}: the benchmark did not finish → **not measured**`);
  const busyRoom = d.seq?.results[0];
  if (busyRoom) lines.push(`- A busy room takes at least 1,000 messages/s (MySQL store): ${busyRoom.messagesPerSecond}/s, ${busyRoom.gapsOrDuplicates} gaps → ${holds(busyRoom.messagesPerSecond >= 1000 && busyRoom.gapsOrDuplicates === 0)}`);
  else unfinished('A busy room takes at least 1,000 messages/s');
  if (d.recovery) lines.push(`- Recovery of 500 events under 50 ms: p50 ${d.recovery.p50} ms (p99 ${d.recovery.p99} ms) → ${holds(d.recovery.p50 < 50)}`);
  else unfinished('Recovery of 500 events under 50 ms');
  if (d.rest) {
    const cached = d.rest.results.find((r) => r.target.includes('cached first page'));
    lines.push(`- Cached history page at least 60% of the bare bytes route: ${cached?.requestsPerSecond ?? '?'} vs ${cached?.bareRequestsPerSecond ?? '?'} req/s = ${cached?.ratio ?? '?'}% → ${holds((cached?.ratio ?? 0) >= 60)}`);
    for (const r of d.rest.results) {
      if (r.sql) lines.push(`- ${r.target} at least 60% of its same-SQL route: ${r.requestsPerSecond} vs ${r.sql.requestsPerSecond} req/s = ${r.sql.ratio}% → ${holds(r.sql.ratio >= 60)}`);
    }
    const m = d.rest.metrics;
    lines.push(`- Metrics collection costs under 5% of the cached history page's throughput: CPU per request ${m.cpuOverheadPercent}%, throughput ${m.overheadPercent}% (noise of the shared cores) → ${holds(m.cpuOverheadPercent < 5)} (judged by CPU per request, a CPU-bound server's throughput)`);
  } else unfinished('REST targets (cached and uncached history page, friends list, metrics cost)');
  if (d.send) lines.push(`- Message send at least 60% of the same-SQL bare route: ${d.send.ratio}% → ${holds(d.send.ratio >= 60)}`);
  else unfinished('Message send at least 60% of the same-SQL bare route');
  const fanout = d.wsTarget?.results[0];
  const bare = d.wsTarget?.results.find((r) => r.target.includes('bare'));
  if (fanout) lines.push(`- WebSocket fan-out at least 20,000 deliveries/s with p99 under 50 ms at 1,000 sockets: ${fanout.deliveriesPerSecond} deliveries/s, p99 ${fanout.p99} ms (bare ws: ${bare?.deliveriesPerSecond ?? '?'}/s, p99 ${bare?.p99 ?? '?'} ms) → ${holds(fanout.deliveriesPerSecond >= 20_000 && fanout.p99 < 50)}`);
  else unfinished('WebSocket fan-out at least 20,000 deliveries/s with p99 under 50 ms');
  if (d.presence) lines.push(`- ${d.presence.streams} SSE presence streams with p99 under 100 ms: p99 ${round(d.presence.p99)} ms, ${d.presence.delivered}/${d.presence.expected} delivered → ${holds(d.presence.p99 < 100 && d.presence.delivered === d.presence.expected && d.presence.streams >= 2000)}`);
  else unfinished('2,000 SSE presence streams with p99 under 100 ms');
  for (const [settings, c] of [['Node defaults', d.capacity], [`the Docker image's ${IMAGE_NODE_OPTIONS}`, d.capacityImage]] as const) {
    if (c) lines.push(capacityTarget(settings, c));
    else unfinished(`${SOCKET_TARGET.toLocaleString('en')} idle sockets per instance under 1 GiB (${settings})`);
  }
  if (d.hashing) lines.push(`- Other requests keep a p95 under ${d.hashing.targetP95Ms} ms while ${d.hashing.authClients} clients register and log in: p95 ${d.hashing.p95} ms → ${holds(d.hashing.p95 < d.hashing.targetP95Ms)}`);
  else unfinished('Other requests keep a p95 under 50 ms while clients register and log in');
  if (d.flood) {
    const f = d.flood;
    const healthMax = Math.max(...f.health.map((h) => h.max));
    const messagesOk = f.messages.storedNotAcked === 0 && f.messages.storedNotPublished === 0 && f.messages.ackedNotStored === 0;
    lines.push(`- Under one user's flood no instance exits (${f.instancesRunning}/2 running), \`/api/health/live\` stays under 100 ms (max ${healthMax} ms), other users' p99 under 250 ms (${f.others.p99} ms), every stored message acknowledged and published (${messagesOk ? 'yes' : 'no'}) → ${holds(f.instancesRunning === 2 && healthMax < 100 && f.others.p99 < 250 && messagesOk)}`);
  } else unfinished("One user's flood");
  return lines;
}

/** Held at the target where the machine allows; else the measured marginal cost projected to it. */
function capacityTarget(settings: string, c: CapacityResult): string {
  const label = `${SOCKET_TARGET.toLocaleString('en')} idle authenticated sockets per instance under 1 GiB RSS (${settings})`;
  if (c.target < SOCKET_TARGET) return `- ${label}: quick run, ${c.sockets} held at ${c.rssMiB} MiB, ${c.marginalKiB} KiB per socket → **not measured**`;
  if (c.sockets >= SOCKET_TARGET) return `- ${label}: ${c.sockets} held at ${c.rssMiB} MiB → ${holds(c.rssMiB < MIB_PER_GIB)}`;
  const projectedOk = c.projectedRssAtTargetMiB < MIB_PER_GIB;
  const verdict = projectedOk ? '**projected to hold** (not measured at the target)' : '**missed** (projected)';
  return `- ${label}: ${c.sockets} held at ${c.rssMiB} MiB (${c.stoppedBecause}); ${c.marginalKiB} KiB per socket projects ${c.projectedRssAtTargetMiB} MiB at ${SOCKET_TARGET.toLocaleString('en')} → ${verdict}`;
}

function targets(d: RunData): string[] {
  return ['## Targets', '', ...targetLines(d), '', `Where a target is missed, the section "Where the time goes" below (and README.md, Benchmarks) says why.`, ''];
}

async function main(): Promise<void> {
  const started = Date.now();
  // Measured first, on the machine as the run finds it.
  const machineLines = await machine();
  const files = {
    rest: path.join(outDir, 'rest.json'),
    ws: path.join(outDir, 'ws.json'),
    wsTarget: path.join(outDir, 'ws-target.json'),
    presence: path.join(outDir, 'presence.json'),
    capacity: path.join(outDir, 'capacity.json'),
    capacityImage: path.join(outDir, 'capacity-image.json'),
    bcrypt: path.join(outDir, 'bcrypt.json'),
    seq: path.join(outDir, 'seq.json'),
    recovery: path.join(outDir, 'recovery.json'),
    send: path.join(outDir, 'send.json'),
    flood: path.join(outDir, 'flood.json'),
  };
  const q = quick ? ['--quick'] : [];
  const failures = new Map<string, string>();
  const bench = async (key: keyof typeof files, label: string, script: string, args: string[]) => {
    const failure = await run(label, script, args);
    if (failure) failures.set(key, `${script} ${failure}`);
  };
  await bench('rest', 'REST (autocannon) vs a bare Fastify route', 'bench/rest.ts', [...q, '--json', files.rest]);
  await bench('send', 'Message send vs a bare route running the same SQL', 'bench/send.ts', [...q, '--json', files.send]);
  await bench('ws', 'WebSocket fan-out at 200 msg/s vs a bare ws server', 'bench/ws.ts', [...q, '--json', files.ws]);
  await bench('wsTarget', 'WebSocket fan-out at the target rate (2,000 msg/s = 20,000 deliveries/s)', 'bench/ws.ts', [...(quick ? ['--sockets', '1000', '--duration', '4'] : []), '--rate', '2000', '--json', files.wsTarget]);
  await bench('presence', 'SSE presence streams', 'bench/presence.ts', [...q, '--json', files.presence]);
  await bench('capacity', 'Capacity: idle authenticated sockets under 1 GiB (Node defaults)', 'bench/capacity.ts', [...q, '--json', files.capacity]);
  await bench('capacityImage', `Capacity with the Docker image's NODE_OPTIONS (${IMAGE_NODE_OPTIONS})`, 'bench/capacity.ts', [...q, '--node-options', IMAGE_NODE_OPTIONS, '--json', files.capacityImage]);
  await bench('bcrypt', 'Other requests while 50 clients register and log in (bcrypt)', 'bench/bcrypt.ts', [...q, '--json', files.bcrypt]);
  await bench('seq', 'Messages into one busy room (seq under the room counter lock)', 'bench/seq.ts', [...q, '--json', files.seq]);
  await bench('recovery', 'Recovery of 500 events, SSE chat-stream delivery', 'bench/recovery.ts', [...q, '--json', files.recovery]);
  await bench('flood', 'One user flooding (issue 11): health probes, other users, every stored message acknowledged and published', 'bench/flood.ts', [...q, '--json', files.flood]);

  const data: RunData = {
    rest: readJson(files.rest),
    ws: readJson(files.ws),
    wsTarget: readJson(files.wsTarget),
    presence: readJson(files.presence),
    capacity: readJson(files.capacity),
    capacityImage: readJson(files.capacityImage),
    hashing: readJson(files.bcrypt),
    seq: readJson(files.seq),
    recovery: readJson(files.recovery),
    send: readJson(files.send),
    flood: readJson(files.flood),
  };
  const lines = [
    `# Benchmark results${quick ? ' (quick run)' : ''}`,
    '',
    `Written by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString()} in ${round((Date.now() - started) / 1000, 0)} s; load average at the end ${os.loadavg().map((l) => round(l)).join(', ')}.`,
    '',
    '## Machine',
    ...machineLines,
    '',
    ...(failures.size ? ['## Benchmarks that did not finish', '', ...[...failures.values()].map((f) => `- ${f}`), ''] : []),
    ...sections(data),
    ...targets(data),
  ];
  // What the figures mean where a target is missed: written by hand after a run, carried into every report.
  if (existsSync(timeNotes)) lines.push(readFileSync(timeNotes, 'utf8'));
  // Profile summaries are kept by hand in bench/profiles/*.md (they need --cpu-prof runs) and carried into every report.
  const profiles = existsSync(profilesDir) ? readdirSync(profilesDir).filter((name) => name.endsWith('.md')).sort() : [];
  for (const name of profiles) lines.push(readFileSync(path.join(profilesDir, name), 'utf8'));
  if (existsSync(roundsNotes)) lines.push(readFileSync(roundsNotes, 'utf8'));
  const report = lines.join('\n');
  // The quick run never overwrites the committed full run.
  const reportFile = path.join('bench', quick ? 'results-quick.md' : 'results.md');
  writeFileSync(reportFile, report);
  console.log(`\n${report}\nwritten to ${reportFile}`);
}

await main();
process.exit(0);
