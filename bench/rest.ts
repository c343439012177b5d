/**
 * REST benchmark with autocannon: the real server next to a bare Fastify route returning the
 * same bytes (the ceiling), requests per second and p99 latency for each. Then the cost of the
 * Prometheus metrics: the cached history page on that server and on one started with
 * METRICS_ENABLED=false, in alternating rounds.
 *
 *   npm run bench:rest                    # 10 s per target
 *   npm run bench:rest -- --quick         # 3 s per target
 *   npm run bench:rest -- --json out.json
 *   npm run bench:rest -- --profile dir   # CPU profiles instead: one fresh server per target
 *                                         # under `node --cpu-prof`, top frames printed
 *   npm run bench:rest -- --against dir   # instead: each GET target on this checkout's server and
 *                                         # on dir's (another worktree, e.g. main), alternating
 *                                         # rounds; medians of req/s and server CPU per request
 *
 * Targets: GET /api/friends/list (50 friends), GET /api/messages/:room_id first page served
 * from the Redis cache and the same 20 messages read from the store (a `before` cursor skips
 * the cache), and POST /api/messages/:room_id.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { createSigner } from 'fast-jwt';
import { FRIENDS_OF_SQL } from '../src/modules/friends/friends.store.ts';
import { parseCursor } from '../src/modules/messages/store/message-store.ts';
import { PAGE_BEFORE_SQL } from '../src/modules/messages/store/mysql-message.store.ts';
import type { SqlRoute } from './baseline-http-server.ts';
import { seedFriendships } from './lib/seed-social.ts';
import { BENCH_JWT_SECRET, type BenchDatabase, freePort, freshDatabase, startChatServer, seedGroupRooms, seedUsers, startProcess, stopProcess } from './lib/setup.ts';
import { type RestResult, restTable } from './lib/rest-table.ts';
import { formatSummary, profileIn, summarizeProfile } from './lib/cpu-profile.ts';
import { argValue, cpuSecondsOf, hasFlag, progress, endProgress, round } from './lib/stats.ts';

const quick = hasFlag('quick');
const DURATION_S = Number(argValue('duration') ?? (quick ? 3 : 10));
const CONNECTIONS = Number(argValue('connections') ?? 20);
const JSON_OUT = argValue('json');
const PROFILE_DIR = argValue('profile');
const AGAINST_DIR = argValue('against');
const AGAINST_ROUNDS = quick ? 3 : 8;
/** Metrics on/off: rounds of ROUND_S per server, alternating which goes first. */
const METRICS_ROUNDS = quick ? 3 : 12;
const METRICS_ROUND_S = quick ? 2 : 3;
/** The metrics server is scraped this often while it is loaded (Prometheus' default is 15 s). */
const SCRAPE_EVERY_MS = 1000;

export type { RestResult };

export interface MetricsOverhead {
  target: string;
  rounds: number;
  roundS: number;
  /** Mean req/s over the rounds. */
  withMetrics: number;
  withoutMetrics: number;
  /** 1 - with/without in percent: the throughput metrics cost. */
  overheadPercent: number;
  /** Server CPU time per request (µs), mean over the rounds: less sensitive to other load on the cores. */
  cpuPerRequestUs: { withMetrics: number; withoutMetrics: number };
  /** with/without - 1 in percent. */
  cpuOverheadPercent: number;
  scrapeEveryMs: number;
  scrapes: number;
  errors: number;
}

interface Target {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  barePath: string;
  body?: () => string;
  /** The statement the endpoint runs when it reads MySQL, for the same-SQL ceiling at `/bare/sql/...`. */
  sql?: Omit<SqlRoute, 'url'>;
}

const sqlPathOf = (target: Target) => target.barePath.replace('/bare/', '/bare/sql/');

async function load(url: string, target: Target, headers: Record<string, string>, durationS = DURATION_S): Promise<{ rps: number; total: number; p99: number; errors: number }> {
  let settle: (result: autocannon.Result) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: target.method,
        path: url.endsWith('/bare') ? target.barePath : url.endsWith('/bare-sql') ? sqlPathOf(target) : target.path,
        headers: { ...headers, 'content-type': 'application/json' },
        ...(target.body ? { setupRequest: (request: autocannon.Request) => ({ ...request, body: target.body!() }) } : {}),
      },
    ],
  }, (error, result) => (error ? fail(error) : settle(result)));
  let seconds = 0;
  const side = url.endsWith('/bare') ? ' (bare)' : url.endsWith('/bare-sql') ? ' (same SQL)' : '';
  instance.on('tick', () => progress(`  ${target.name}${side}: ${++seconds}/${durationS}s`));
  const result = await finished;
  endProgress();
  return { rps: result.requests.average, total: result.requests.total, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

/** Scrapes `url` every SCRAPE_EVERY_MS until the returned function is called; it gives the count. */
function scrapeWhileLoaded(url: string): () => number {
  let scrapes = 0;
  let failures = 0;
  const timer = setInterval(() => {
    fetch(url).then(
      async (response) => {
        await response.text();
        if (response.ok) scrapes += 1;
        else failures += 1;
      },
      () => (failures += 1),
    );
  }, SCRAPE_EVERY_MS);
  return () => {
    clearInterval(timer);
    if (failures > 0) throw new Error(`${failures} scrapes of ${url} failed`);
    return scrapes;
  };
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/**
 * The same target on two fresh servers alike but for METRICS_ENABLED (same history, so neither
 * carries the other targets' heap or JIT state), in short rounds that alternate which goes
 * first, so that drift of the other load on the shared cores falls on both sides alike.
 */
async function metricsOverhead(db: BenchDatabase, target: Target, headers: Record<string, string>): Promise<MetricsOverhead> {
  const metricsPort = await freePort();
  const servers = await Promise.all([startChatServer(db, { METRICS_PORT: String(metricsPort) }), startChatServer(db, { METRICS_ENABLED: 'false' })]);
  try {
    for (const server of servers) server.process.stdout?.removeAllListeners('data');
    const [withMetrics, withoutMetrics] = servers.map((server) => ({ base: `http://127.0.0.1:${server.port}`, pid: server.process.pid! })) as [Side, Side];
    return await alternateRounds(target, headers, { ...withMetrics, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` }, withoutMetrics);
  } finally {
    await Promise.all(servers.map((server) => stopProcess(server.process)));
  }
}

interface Side {
  base: string;
  pid: number;
}

/** A load, with the CPU time the loaded process used per request (µs). */
async function cpuMeasured<T extends { total: number }>(side: Side, run: () => Promise<T>): Promise<T & { cpuPerRequestUs: number }> {
  const cpuBefore = cpuSecondsOf(side.pid);
  const result = await run();
  return { ...result, cpuPerRequestUs: ((cpuSecondsOf(side.pid) - cpuBefore) * 1e6) / Math.max(1, result.total) };
}

/** One load round on a server, with the CPU time the server used per request (µs). */
async function measuredLoad(side: Side, target: Target, headers: Record<string, string>) {
  const cpuBefore = cpuSecondsOf(side.pid);
  const result = await load(side.base, target, headers, METRICS_ROUND_S);
  return { ...result, cpuPerRequestUs: ((cpuSecondsOf(side.pid) - cpuBefore) * 1e6) / result.total };
}

async function alternateRounds(
  target: Target,
  headers: Record<string, string>,
  withMetrics: Side & { metricsUrl: string },
  withoutMetrics: Side,
): Promise<MetricsOverhead> {
  const on = { ...target, name: `${target.name}, metrics on` };
  const off = { ...target, name: `${target.name}, metrics off` };
  const rps = { on: [] as number[], off: [] as number[] };
  const cpu = { on: [] as number[], off: [] as number[] };
  let scrapes = 0;
  let errors = 0;
  const runs = {
    on: async () => {
      const stopScraping = scrapeWhileLoaded(withMetrics.metricsUrl);
      const result = await measuredLoad(withMetrics, on, headers);
      scrapes += stopScraping();
      return result;
    },
    off: () => measuredLoad(withoutMetrics, off, headers),
  };
  // Warm-up, the same for both.
  await runs.on();
  await runs.off();
  scrapes = 0;
  for (let pass = 0; pass < METRICS_ROUNDS; pass += 1) {
    for (const side of pass % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const result = await runs[side]();
      rps[side].push(result.rps);
      cpu[side].push(result.cpuPerRequestUs);
      errors += result.errors;
    }
  }
  const [withRps, withoutRps, withCpu, withoutCpu] = [mean(rps.on), mean(rps.off), mean(cpu.on), mean(cpu.off)];
  return {
    target: target.name,
    rounds: METRICS_ROUNDS,
    roundS: METRICS_ROUND_S,
    withMetrics: round(withRps, 0),
    withoutMetrics: round(withoutRps, 0),
    overheadPercent: round((1 - withRps / withoutRps) * 100, 1),
    cpuPerRequestUs: { withMetrics: round(withCpu), withoutMetrics: round(withoutCpu) },
    cpuOverheadPercent: round((withCpu / withoutCpu - 1) * 100, 1),
    scrapeEveryMs: SCRAPE_EVERY_MS,
    scrapes,
    errors,
  };
}

/**
 * Each GET target on a fresh server run under `node --cpu-prof` (the profile is written when it
 * exits): a 2 s warm-up, then DURATION_S of load; the top frames are printed as Markdown.
 */
async function profileTargets(db: BenchDatabase, targets: readonly Target[], headers: Record<string, string>, dir: string): Promise<void> {
  const sections: string[] = [];
  for (const [i, target] of targets.entries()) {
    if (target.method !== 'GET') continue;
    const targetDir = path.join(dir, `target-${i}`);
    const server = await startChatServer(db, {}, ['--cpu-prof', `--cpu-prof-dir=${targetDir}`]);
    server.process.stdout?.removeAllListeners('data');
    const base = `http://127.0.0.1:${server.port}`;
    await load(base, target, headers, 2);
    const loadStart = Date.now();
    const result = await load(base, target, headers);
    await stopProcess(server.process);
    // The loaded seconds only: start-up (module loading) and the warm-up are left out.
    const loadedMs = Date.now() - loadStart;
    sections.push('', ...formatSummary(`${target.name}: ${round(result.rps, 0)} req/s while profiled`, summarizeProfile(profileIn(targetDir), 18, loadedMs)));
  }
  console.log(sections.join('\n'));
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * A/B of two checkouts on the same load: each GET target on this checkout's server and on
 * `dir`'s, both running, in alternating rounds of METRICS_ROUND_S (which goes first alternates),
 * so that the drift of other work on the shared cores falls on both alike.
 */
async function compareWith(dir: string, db: BenchDatabase, targets: readonly Target[], headers: Record<string, string>): Promise<void> {
  const servers = await Promise.all([startChatServer(db), startChatServer(db, {}, [], path.join(dir, 'src/server.ts'))]);
  try {
    const [here, there] = servers.map((server) => ({ base: `http://127.0.0.1:${server.port}`, pid: server.process.pid! })) as [Side, Side];
    const lines = [`A/B: this checkout vs ${dir}, ${AGAINST_ROUNDS} alternating rounds of ${METRICS_ROUND_S} s per side, medians`, '| endpoint | req/s here | req/s there | CPU µs/request here | there | CPU change | errors |', '|---|---|---|---|---|---|---|'];
    for (const target of targets) {
      if (target.method !== 'GET') continue;
      const sides = { here: { side: here, rps: [] as number[], cpu: [] as number[] }, there: { side: there, rps: [] as number[], cpu: [] as number[] } };
      let errors = 0;
      await measuredLoad(here, target, headers);
      await measuredLoad(there, target, headers);
      for (let round = 0; round < AGAINST_ROUNDS; round += 1) {
        for (const name of round % 2 === 0 ? (['here', 'there'] as const) : (['there', 'here'] as const)) {
          const result = await measuredLoad(sides[name].side, { ...target, name: `${target.name}, ${name}` }, headers);
          sides[name].rps.push(result.rps);
          sides[name].cpu.push(result.cpuPerRequestUs);
          errors += result.errors;
        }
      }
      const [cpuHere, cpuThere] = [median(sides.here.cpu), median(sides.there.cpu)];
      lines.push(`| ${target.name} | ${round(median(sides.here.rps), 0)} | ${round(median(sides.there.rps), 0)} | ${round(cpuHere)} | ${round(cpuThere)} | ${round((cpuHere / cpuThere - 1) * 100, 1)}% | ${errors} |`);
    }
    console.log(['', ...lines].join('\n'));
  } finally {
    await Promise.all(servers.map((server) => stopProcess(server.process)));
  }
}

async function main(): Promise<void> {
  const db = await freshDatabase('bigtech_bench_rest', 12);
  let server: Awaited<ReturnType<typeof startProcess>> | undefined;
  let bare: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    const userIds = await seedUsers(db.databaseUrl, 51, 'restbench');
    const [me, peer] = userIds as [number, number];
    await seedFriendships(db.databaseUrl, me, userIds.slice(1));
    const [roomId] = await seedGroupRooms(db.databaseUrl, [me, peer], 2);
    server = await startChatServer(db);
    server.process.stdout?.removeAllListeners('data');
    const base = `http://127.0.0.1:${server.port}`;
    const now = Math.floor(Date.now() / 1000);
    const token = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' })({ sub: String(me), jti: randomUUID(), iat: now, exp: now + 3600 });
    const auth = { authorization: `Bearer ${token}` };

    for (let i = 0; i < 100; i += 1) {
      await fetch(`${base}/api/messages/${roomId}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ content: `seed message ${i} 안녕하세요 👋` }) });
    }
    const newest = (await (await fetch(`${base}/api/messages/${roomId}?limit=1`, { headers: auth })).json()) as { next_cursor: string };
    const cachedPath = `/api/messages/${roomId}?limit=20`;
    const uncachedPath = `/api/messages/${roomId}?limit=20&before=${newest.next_cursor}`;
    const targets: Target[] = [
      {
        name: 'GET /api/friends/list (50 friends)',
        method: 'GET',
        path: '/api/friends/list',
        barePath: '/bare/friends',
        sql: { sql: FRIENDS_OF_SQL, params: [me, me, me, 50, 0] },
      },
      { name: 'GET /api/messages/:room_id (cached first page)', method: 'GET', path: cachedPath, barePath: '/bare/messages-cached' },
      {
        name: 'GET /api/messages/:room_id (uncached, from the store)',
        method: 'GET',
        path: uncachedPath,
        barePath: '/bare/messages-uncached',
        sql: { sql: PAGE_BEFORE_SQL, params: [roomId!, parseCursor(newest.next_cursor), 21] },
      },
      { name: 'POST /api/messages/:room_id', method: 'POST', path: `/api/messages/${roomId}`, barePath: '/bare/messages-post', body: () => JSON.stringify({ content: 'bench message', client_message_id: randomUUID() }) },
    ];

    // The bare server answers with the very bytes the real endpoints return.
    const payloads = [];
    for (const target of targets) {
      const response = await fetch(`${base}${target.path}`, { method: target.method, headers: { ...auth, 'content-type': 'application/json' }, ...(target.body ? { body: target.body() } : {}) });
      payloads.push({ method: target.method, url: target.barePath, status: response.status, body: await response.text() });
    }
    if (PROFILE_DIR) return await profileTargets(db, targets, auth, path.resolve(PROFILE_DIR));
    if (AGAINST_DIR) return await compareWith(path.resolve(AGAINST_DIR), db, targets, auth);
    const payloadFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-rest-')), 'payloads.json');
    writeFileSync(payloadFile, JSON.stringify(payloads));
    const sqlRoutes: SqlRoute[] = targets.flatMap((target) => (target.sql ? [{ url: sqlPathOf(target), ...target.sql }] : []));
    const sqlFile = path.join(path.dirname(payloadFile), 'sql-routes.json');
    writeFileSync(sqlFile, JSON.stringify(sqlRoutes));
    bare = await startProcess(
      'bench/baseline-http-server.ts',
      { PAYLOADS_FILE: payloadFile, SQL_ROUTES_FILE: sqlFile, DATABASE_URL: db.databaseUrl },
      /baseline listening on (\d+)/,
    );

    const results: RestResult[] = [];
    const cpuLines: string[] = [];
    const serverSide: Side = { base, pid: server.process.pid! };
    const bareSide: Side = { base: `http://127.0.0.1:${bare.port}`, pid: bare.process.pid! };
    for (const target of targets) {
      const real = await cpuMeasured(serverSide, () => load(base, target, auth));
      const ceiling = await cpuMeasured(bareSide, () => load(`${bareSide.base}/bare`, target, {}));
      const sameSql = target.sql ? await cpuMeasured(bareSide, () => load(`${bareSide.base}/bare-sql`, target, {})) : undefined;
      cpuLines.push(`| ${target.name} | ${round(real.cpuPerRequestUs)} | ${sameSql ? round(sameSql.cpuPerRequestUs) : '-'} | ${round(ceiling.cpuPerRequestUs)} |`);
      results.push({
        ...(sameSql ? { sql: { requestsPerSecond: round(sameSql.rps, 0), p99: sameSql.p99, ratio: round((real.rps / sameSql.rps) * 100, 1) } } : {}),
        target: target.name,
        requestsPerSecond: round(real.rps, 0),
        p99: real.p99,
        bareRequestsPerSecond: round(ceiling.rps, 0),
        bareP99: ceiling.p99,
        ratio: round((real.rps / ceiling.rps) * 100, 1),
        errors: real.errors,
      });
    }
    const cached = targets[1]!;
    const metrics = await metricsOverhead(db, cached, auth);
    console.log('');
    for (const line of restTable(results)) console.log(line);
    console.log('');
    console.log('Server process CPU (user + system) per request, µs (MariaDB and Redis not included):');
    console.log('| endpoint | server | same-SQL route | bare bytes route |');
    console.log('|---|---|---|---|');
    for (const line of cpuLines) console.log(line);
    console.log('');
    console.log(`Metrics: ${metrics.rounds} rounds of ${metrics.roundS} s per side, ${metrics.scrapes} scrapes (every ${metrics.scrapeEveryMs} ms while loaded)`);
    console.log('| endpoint | req/s with metrics | req/s without | throughput cost | CPU µs/request with | without | CPU cost | errors |');
    console.log('|---|---|---|---|---|---|---|---|');
    console.log(`| ${metrics.target} | ${metrics.withMetrics} | ${metrics.withoutMetrics} | ${metrics.overheadPercent}% | ${metrics.cpuPerRequestUs.withMetrics} | ${metrics.cpuPerRequestUs.withoutMetrics} | ${metrics.cpuOverheadPercent}% | ${metrics.errors} |`);
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ durationS: DURATION_S, connections: CONNECTIONS, results, metrics }, null, 2));
  } finally {
    if (bare) await stopProcess(bare.process);
    if (server) await stopProcess(server.process);
    await db.drop();
  }
}

await main();
process.exit(0);
