/**
 * Presence benchmark: N concurrent SSE streams on one in-process instance while friends log in
 * and out through the real API and their heartbeats expire.
 *
 *   npm run bench:presence                       # 2,000 streams
 *   npm run bench:presence -- --streams 500      # other sizes
 *   npm run bench:presence -- --quick            # short run (200 streams, one round)
 *   npm run bench:presence -- --client-processes 2   # the streams spread over 2 client processes
 *
 * Creates and drops its own database (bigtech_bench_presence) and claims a free Redis db index
 * (14 first) the same way test runs do. Loopback traffic only. The SSE clients run in a child
 * process so the server's memory figures are its own. Latency is measured from the `at`
 * timestamp carried in each published presence change (login/logout: when it was made; heartbeat
 * expiry: when the key was due to expire) to the moment the client parsed the event. The
 * output gives each client process's CPU and event-loop delay (is the latency it reports its
 * own?) and the server process's CPU per delivered event (it also runs the actors' requests).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import bcrypt from 'bcrypt';
import { Redis } from 'ioredis';
import mariadb from 'mariadb';
import { type App, buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { migrate } from '../src/db/migrator.ts';
import { parseMysqlUrl } from '../src/db/mysql-url.ts';
import { parsePresenceChange, presenceChannel } from '../src/modules/presence/presence.keys.ts';
import { SseParser } from '../test/helpers/sse.ts';

// ---------------------------------------------------------------------------------------------
// Shared: messages between the server process and the client process.

/** [user_id, is_online, at (epoch ms), phase index] */
type ChangeTuple = [number, boolean, number, number];

type ToClient =
  | { type: 'init'; port: number; tokens: string[] }
  | { type: 'changes'; list: ChangeTuple[] }
  | { type: 'report' }
  | { type: 'measure' }
  | { type: 'close' };

interface PhaseReport {
  delivered: number;
  firstChangeAt: number;
  lastReceivedAt: number;
  latencies: number[];
}

type FromClient =
  | { type: 'progress'; connected: number; ready: number; failed: number }
  | { type: 'ready'; connectMs: number }
  | { type: 'report'; delivered: number; unmatched: number; foreign: number; errors: number; closed: number; phases: Record<number, PhaseReport>; load: ClientLoad };

/** A client process's own load since the change phases began: is the latency it reports its own? */
interface ClientLoad {
  cpuMs: number;
  wallMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

// ---------------------------------------------------------------------------------------------
// Client process: holds the streams, parses events, matches them to changes.

async function runClient(): Promise<void> {
  const send = (message: FromClient) => process.send?.(message);
  interface StreamState {
    friends: Set<number> | undefined;
    initialLeft: number;
    live: Map<number, number>;
    request: http.ClientRequest | undefined;
  }
  const streams: StreamState[] = [];
  /** Per user, their changes in order: [at, phase]. */
  const changes = new Map<number, [number, number][]>();
  /** Deliveries that arrived before the change's timestamp did: user → [index, receivedAt]. */
  const waiting = new Map<number, [number, number][]>();
  const phases = new Map<number, PhaseReport>();
  let delivered = 0;
  let foreign = 0;
  let errors = 0;
  let closed = 0;
  let connected = 0;
  let ready = 0;
  let failed = 0;
  const now = () => Date.now();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let measureCpu = process.cpuUsage();
  let measureStarted = performance.now();
  const load = (): ClientLoad => {
    const cpu = process.cpuUsage(measureCpu);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - measureStarted,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
    };
  };

  const record = (userId: number, index: number, receivedAt: number): boolean => {
    const change = changes.get(userId)?.[index];
    if (!change) return false;
    const [at, phase] = change;
    let report = phases.get(phase);
    if (!report) {
      report = { delivered: 0, firstChangeAt: at, lastReceivedAt: 0, latencies: [] };
      phases.set(phase, report);
    }
    report.delivered += 1;
    report.firstChangeAt = Math.min(report.firstChangeAt, at);
    report.lastReceivedAt = Math.max(report.lastReceivedAt, receivedAt);
    report.latencies.push(receivedAt - at);
    return true;
  };

  const onEvent = (state: StreamState, event: string, data: string) => {
    const receivedAt = now();
    if (event === 'connected') {
      const parsed = JSON.parse(data) as { friend_ids: number[] };
      state.friends = new Set(parsed.friend_ids);
      state.initialLeft = parsed.friend_ids.length;
      if (state.initialLeft === 0) ready += 1;
      return;
    }
    if (event === 'error') {
      errors += 1;
      return;
    }
    if (event !== 'status') return;
    const { user_id: userId } = JSON.parse(data) as { user_id: number; is_online: boolean };
    if (!state.friends?.has(userId)) {
      foreign += 1;
      return;
    }
    if (state.initialLeft > 0) {
      state.initialLeft -= 1;
      if (state.initialLeft === 0) ready += 1;
      return;
    }
    const index = state.live.get(userId) ?? 0;
    state.live.set(userId, index + 1);
    delivered += 1;
    if (!record(userId, index, receivedAt)) {
      const list = waiting.get(userId) ?? [];
      list.push([index, receivedAt]);
      waiting.set(userId, list);
    }
  };

  const openStream = (port: number, token: string): Promise<void> =>
    new Promise((resolve) => {
      const state: StreamState = { friends: undefined, initialLeft: 0, live: new Map(), request: undefined };
      streams.push(state);
      const request = http.get(
        { host: '127.0.0.1', port, path: '/api/online-status/stream', headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false },
        (response) => {
          if (response.statusCode !== 200) {
            failed += 1;
            response.resume();
            resolve();
            return;
          }
          connected += 1;
          const parser = new SseParser((event) => onEvent(state, event.event, event.data));
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => parser.push(chunk));
          response.on('close', () => {
            closed += 1;
          });
          resolve();
        },
      );
      request.on('error', () => {
        failed += 1;
        resolve();
      });
      state.request = request;
    });

  process.on('message', (message: ToClient) => {
    switch (message.type) {
      case 'init': {
        void (async () => {
          const started = now();
          const progress = setInterval(() => send({ type: 'progress', connected, ready, failed }), 500);
          const concurrency = 100;
          let next = 0;
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (next < message.tokens.length) {
                const token = message.tokens[next++];
                if (token) await openStream(message.port, token);
              }
            }),
          );
          while (ready + failed < message.tokens.length) await new Promise((r) => setTimeout(r, 20));
          clearInterval(progress);
          send({ type: 'progress', connected, ready, failed });
          send({ type: 'ready', connectMs: now() - started });
        })();
        break;
      }
      case 'changes': {
        for (const [userId, , at, phase] of message.list) {
          const list = changes.get(userId) ?? [];
          list.push([at, phase]);
          changes.set(userId, list);
          const pending = waiting.get(userId);
          if (pending) {
            const left = pending.filter(([index, receivedAt]) => !record(userId, index, receivedAt));
            if (left.length) waiting.set(userId, left);
            else waiting.delete(userId);
          }
        }
        break;
      }
      case 'report': {
        let unmatched = 0;
        for (const list of waiting.values()) unmatched += list.length;
        send({ type: 'report', delivered, unmatched, foreign, errors, closed, phases: Object.fromEntries(phases), load: load() });
        break;
      }
      case 'measure': {
        measureCpu = process.cpuUsage();
        measureStarted = performance.now();
        loopDelay.reset();
        loopDelay.enable();
        break;
      }
      case 'close': {
        for (const state of streams) state.request?.destroy();
        setTimeout(() => process.exit(0), 200);
        break;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Server process: database, Redis, the app, the actors.

interface Options {
  streams: number;
  friends: number;
  actors: number;
  rounds: number;
  timeoutS: number;
  /** SSE client processes the streams are spread over (--client-processes). */
  clientProcesses: number;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (flag: string): number | undefined => {
    const index = argv.indexOf(flag);
    if (index === -1) return undefined;
    const parsed = Number(argv[index + 1]);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${flag} needs a positive integer`);
    return parsed;
  };
  const streams = value('--streams') ?? (quick ? 200 : 2000);
  const friends = value('--friends') ?? 10;
  const actors = value('--actors') ?? Math.max(friends, Math.min(500, Math.ceil(streams / 10)));
  if (friends > actors) throw new Error('--friends cannot exceed --actors');
  return { streams, friends, actors, rounds: value('--rounds') ?? (quick ? 1 : 3), timeoutS: value('--timeout') ?? (quick ? 60 : 240), clientProcesses: value('--client-processes') ?? DEFAULT_CLIENT_PROCESSES };
}

/**
 * One: at 2,000 streams it used 13-14% of a core with an event-loop delay p99 of 24-32 ms
 * (bench/rounds.md, issue 17), so it is not what the latency measures; more processes would
 * only add contenders for the 2 cores.
 */
const DEFAULT_CLIENT_PROCESSES = 1;

const log = (message: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const MYSQL_BASE = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const REDIS_BASE = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE = 'bigtech_bench_presence';
const PASSWORD = 'bench-password-123';
/** Short enough for the expiry round to be quick, long enough for a login/logout round. */
const PRESENCE_TTL_S = 10;

/** Claims a Redis db index the way test runs do (test/global-setup.ts), preferring 14. */
async function claimRedisDb(admin: Redis, runId: string): Promise<number> {
  for (const index of [14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 15]) {
    if (await admin.set(`bigtech:test-run:db:${index}`, runId, 'EX', 3600, 'NX')) return index;
  }
  throw new Error('no free Redis db index');
}

async function dropDatabase(): Promise<void> {
  const { connection } = parseMysqlUrl(`${MYSQL_BASE}/${DATABASE}`);
  const conn = await mariadb.createConnection(connection);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  } finally {
    await conn.end();
  }
}

/** Bulk-inserts viewers, actors and friendships; returns ids and each actor's watcher count. */
async function seed(options: Options): Promise<{ viewerIds: number[]; actors: { id: number; email: string }[]; watchers: Map<number, number> }> {
  const { connection } = parseMysqlUrl(`${MYSQL_BASE}/${DATABASE}`);
  const conn = await mariadb.createConnection({ ...connection, database: DATABASE, timezone: 'Z' });
  try {
    const hash = await bcrypt.hash(PASSWORD, 4);
    const total = options.streams + options.actors;
    const names = Array.from({ length: total }, (_, i) => (i < options.streams ? `viewer_${i}` : `actor_${i - options.streams}`));
    for (let start = 0; start < total; start += 1000) {
      const chunk = names.slice(start, start + 1000);
      await conn.query(
        `INSERT INTO users (email, password_hash, username, display_name, created_at, updated_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, NOW(3), NOW(3))').join(',')}`,
        chunk.flatMap((name) => [`${name}@bench.local`, hash, name, name]),
      );
    }
    const rows = await conn.query<{ id: number; username: string }[]>('SELECT id, username FROM users ORDER BY id');
    const idOf = new Map(rows.map((row) => [row.username, Number(row.id)]));
    const viewerIds = names.slice(0, options.streams).map((name) => idOf.get(name) as number);
    const actors = names.slice(options.streams).map((name) => ({ id: idOf.get(name) as number, email: `${name}@bench.local` }));
    const pairs: [number, number][] = [];
    const watchers = new Map<number, number>();
    viewerIds.forEach((viewerId, i) => {
      for (let k = 0; k < options.friends; k += 1) {
        const actor = actors[(i * options.friends + k) % actors.length] as { id: number };
        pairs.push([viewerId, actor.id]);
        watchers.set(actor.id, (watchers.get(actor.id) ?? 0) + 1);
      }
    });
    for (let start = 0; start < pairs.length; start += 1000) {
      const chunk = pairs.slice(start, start + 1000);
      await conn.query(
        `INSERT INTO friendships (requester_id, addressee_id, user_low_id, user_high_id, status, created_at, updated_at) VALUES ${chunk.map(() => "(?, ?, ?, ?, 'accepted', NOW(3), NOW(3))").join(',')}`,
        chunk.flatMap(([viewer, actor]) => [viewer, actor, Math.min(viewer, actor), Math.max(viewer, actor)]),
      );
    }
    return { viewerIds, actors, watchers };
  } finally {
    await conn.end();
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

type ClientReport = Extract<FromClient, { type: 'report' }> & { loads: ClientLoad[] };

/** The client processes: each holds a share of the streams and hears every change for matching. */
class ClientPool {
  private readonly children: ChildProcess[];
  private readonly progressOf: Extract<FromClient, { type: 'progress' }>[] = [];

  constructor(count: number, private readonly streams: number) {
    this.children = Array.from({ length: count }, () => fork(fileURLToPath(import.meta.url), ['--client-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.children.forEach((child, i) => {
      child.on('message', (message: FromClient) => {
        if (message.type !== 'progress') return;
        this.progressOf[i] = message;
        const sum = (key: 'connected' | 'ready' | 'failed') => this.progressOf.reduce((total, p) => total + (p?.[key] ?? 0), 0);
        log(`streams connected ${sum('connected')}/${this.streams}, initial state received ${sum('ready')}${sum('failed') ? `, failed ${sum('failed')}` : ''}`);
      });
    });
  }

  broadcast(message: ToClient): void {
    for (const child of this.children) child.send(message);
  }

  /** Opens the streams (tokens dealt round-robin); resolves with the slowest process's time. */
  async init(port: number, tokens: string[], timeoutMs: number): Promise<number> {
    const ready = this.children.map((child) => this.next(child, 'ready', timeoutMs));
    this.children.forEach((child, i) => child.send({ type: 'init', port, tokens: tokens.filter((_, k) => k % this.children.length === i) } satisfies ToClient));
    const times = await Promise.all(ready);
    this.broadcast({ type: 'measure' });
    return Math.max(...times.map((message) => message.connectMs));
  }

  async report(): Promise<ClientReport> {
    const pending = this.children.map((child) => this.next(child, 'report', 10_000));
    this.broadcast({ type: 'report' });
    const reports = await Promise.all(pending);
    const phases: Record<number, PhaseReport> = {};
    for (const report of reports) {
      for (const [key, phase] of Object.entries(report.phases)) {
        const merged = phases[Number(key)];
        if (!merged) phases[Number(key)] = { ...phase, latencies: [...phase.latencies] };
        else {
          merged.delivered += phase.delivered;
          merged.firstChangeAt = Math.min(merged.firstChangeAt, phase.firstChangeAt);
          merged.lastReceivedAt = Math.max(merged.lastReceivedAt, phase.lastReceivedAt);
          for (const latency of phase.latencies) merged.latencies.push(latency);
        }
      }
    }
    const sum = (key: 'delivered' | 'unmatched' | 'foreign' | 'errors' | 'closed') => reports.reduce((total, r) => total + r[key], 0);
    const loads = reports.map((r) => r.load);
    return { type: 'report', delivered: sum('delivered'), unmatched: sum('unmatched'), foreign: sum('foreign'), errors: sum('errors'), closed: sum('closed'), phases, load: loads[0] as ClientLoad, loads };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null) return;
        // A clean exit lets a profiled client (node --cpu-prof) write its profile.
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.send({ type: 'close' } satisfies ToClient);
        await Promise.race([exited, sleep(3000)]);
        child.kill();
      }),
    );
  }

  private next<T extends FromClient['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<FromClient, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: FromClient) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message as Extract<FromClient, { type: T }>);
      };
      child.on('message', onMessage);
    });
  }
}

async function runServer(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const deadline = Date.now() + options.timeoutS * 1000;
  const remaining = () => deadline - Date.now();
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i += 1) {
      gc();
      await sleep(50);
    }
  };

  const runId = `bench${Date.now().toString(36)}`;
  const admin = new Redis(`${REDIS_BASE}/0`, { maxRetriesPerRequest: 1 });
  let redisDb: number | undefined;
  let app: App | undefined;
  let clients: ClientPool | undefined;
  let changesSub: Redis | undefined;
  let dataRedis: Redis | undefined;
  let cleaned = false;

  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    log('cleaning up');
    await clients?.close();
    await changesSub?.quit().catch(() => undefined);
    await app?.close().catch(() => undefined);
    if (dataRedis) {
      await dataRedis.flushdb().catch(() => undefined);
      dataRedis.disconnect();
    }
    if (redisDb !== undefined) await admin.del(`bigtech:test-run:db:${redisDb}`).catch(() => undefined);
    admin.disconnect();
    await dropDatabase().catch((error: unknown) => log(`could not drop ${DATABASE}: ${String(error)}`));
  };
  const abort = (signal: string) => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => abort('SIGINT'));
  process.once('SIGTERM', () => abort('SIGTERM'));
  const watchdog = setTimeout(() => {
    log(`time limit of ${options.timeoutS} s reached`);
    void cleanup().finally(() => process.exit(2));
  }, options.timeoutS * 1000 + 15_000);
  watchdog.unref();

  try {
    log(`streams ${options.streams}, ${options.friends} friends each, ${options.actors} actors, ${options.rounds} login/logout rounds + 1 expiry round`);
    redisDb = await claimRedisDb(admin, runId);
    const redisUrl = `${REDIS_BASE}/${redisDb}`;
    dataRedis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await dataRedis.flushdb();
    await dropDatabase();
    const databaseUrl = `${MYSQL_BASE}/${DATABASE}`;
    await migrate(databaseUrl);
    log(`database ${DATABASE} migrated, redis db ${redisDb} flushed`);

    const seedStarted = Date.now();
    const { viewerIds, actors, watchers } = await seed(options);
    log(`seeded ${viewerIds.length + actors.length} users and ${viewerIds.length * options.friends} friendships in ${Date.now() - seedStarted} ms`);

    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      JWT_SECRET: 'bench-secret-0123456789abcdef',
      JWT_EXPIRES_IN: '1h',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_PER_IP: '100000000',
      LOGIN_MAX_FAILURES: '1000000',
      API_RATE_PER_USER: '100000000',
      API_RATE_PER_IP: '100000000',
      MAX_STREAMS_PER_USER: '100000000',
      PRESENCE_TTL_S: String(PRESENCE_TTL_S),
      UPLOAD_DIR: '/tmp/bigtech-bench-uploads',
    });
    app = await buildApp(config, { logger: { level: 'warn' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    const port = address.port;
    const base = `http://127.0.0.1:${port}`;
    log(`instance listening on ${base}`);

    // Every published change, with its own timestamp, goes to the client process for matching.
    changesSub = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    let phase = 0;
    let batch: ChangeTuple[] = [];
    let published = 0;
    changesSub.on('message', (_channel: string, raw: string) => {
      const change = parsePresenceChange(raw);
      if (!change) return;
      published += 1;
      batch.push([change.user_id, change.is_online, change.at, phase]);
    });
    await changesSub.subscribe(presenceChannel(redisDb));
    const flush = setInterval(() => {
      if (batch.length && clients) {
        clients.broadcast({ type: 'changes', list: batch });
        batch = [];
      }
    }, 5);

    const tokens = viewerIds.map((id) => (app as App).tokens.issue(id).accessToken);
    await settle();
    const before = process.memoryUsage();

    clients = new ClientPool(options.clientProcesses, options.streams);
    const connectMs = await clients.init(port, tokens, remaining());
    const serverCpuBefore = process.cpuUsage();
    const serverWallBefore = performance.now();
    const serverLoopDelay = monitorEventLoopDelay({ resolution: 10 });
    serverLoopDelay.enable();
    const hubStats = app.presenceHub.stats();
    log(`${hubStats.streams} streams open in ${(connectMs / 1000).toFixed(2)} s; registry: ${hubStats.watchedUsers} watched users, ${hubStats.watchEntries} entries`);
    await settle();
    const after = process.memoryUsage();

    // Phases: login burst / logout burst per round, then login + forced heartbeat expiry.
    const actorTokens = new Map<number, string>();
    const loginOne = async (actor: { id: number; email: string }) => {
      const res = await fetch(`${base}/api/auth/login/json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: actor.email, password: PASSWORD }),
      });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      actorTokens.set(actor.id, ((await res.json()) as { access_token: string }).access_token);
    };
    const logoutOne = async (actor: { id: number }) => {
      const res = await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${actorTokens.get(actor.id)}` } });
      if (res.status !== 204) throw new Error(`logout failed: ${res.status}`);
    };
    /** All actors at once, 32 requests in flight. */
    const burst = (each: (actor: { id: number; email: string }) => Promise<void>) => async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < actors.length) await each(actors[next++] as { id: number; email: string });
        }),
      );
    };
    const loginAll = burst(loginOne);
    const logoutAll = burst(logoutOne);
    /** A few actors one at a time, 20 ms apart: latency without a burst behind it. */
    const trickleActors = actors.slice(0, Math.min(50, actors.length));
    const trickle = (each: (actor: { id: number; email: string }) => Promise<void>) => async () => {
      for (const actor of trickleActors) {
        await each(actor);
        await sleep(20);
      }
    };
    /** Friends stop sending heartbeats: their keys expire after PRESENCE_TTL_S, the monitor takes over. */
    const stopHeartbeats = async () => {};
    const perActorWatchers = actors.reduce((sum, actor) => sum + (watchers.get(actor.id) ?? 0), 0);
    const phaseLabels: string[] = [];
    let expected = 0;
    let lastReport: ClientReport | undefined;
    const report = async () => {
      lastReport = await (clients as ClientPool).report();
      return lastReport;
    };
    const waitDeliveries = async (count: number) => {
      expected += count;
      const phaseDeadline = Math.min(deadline, Date.now() + 30_000 + PRESENCE_TTL_S * 1000);
      for (;;) {
        const current = await report();
        if (current.delivered >= expected && current.unmatched === 0) return;
        if (Date.now() > phaseDeadline) {
          log(`phase ${phase}: ${current.delivered}/${expected} delivered before its time limit`);
          return;
        }
        await sleep(50);
      }
    };
    const runPhase = async (label: string, action: () => Promise<void>, deliveries = perActorWatchers) => {
      phase += 1;
      phaseLabels.push(label);
      await action();
      await waitDeliveries(deliveries);
      const current = lastReport?.phases[phase];
      log(`phase ${phase} (${label}): ${current?.delivered ?? 0} events delivered`);
    };

    for (let round = 1; round <= options.rounds && remaining() > 20_000; round += 1) {
      await runPhase(`round ${round}: ${actors.length} friends log in`, loginAll);
      await runPhase(`round ${round}: ${actors.length} friends log out`, logoutAll);
    }
    if (remaining() > 20_000) {
      const trickleWatchers = trickleActors.reduce((sum, actor) => sum + (watchers.get(actor.id) ?? 0), 0);
      await runPhase(`trickle: ${trickleActors.length} log in, 20 ms apart`, trickle(loginOne), trickleWatchers);
      await runPhase(`trickle: ${trickleActors.length} log out, 20 ms apart`, trickle(logoutOne), trickleWatchers);
    }
    if (remaining() > 20_000) {
      await runPhase(`expiry round: ${actors.length} friends log in`, loginAll);
      await runPhase(`expiry round: ${actors.length} keys expire (${PRESENCE_TTL_S} s TTL)`, stopHeartbeats);
    }
    clearInterval(flush);
    const final = await report();
    serverLoopDelay.disable();
    const serverCpu = process.cpuUsage(serverCpuBefore);
    const serverCpuMs = (serverCpu.user + serverCpu.system) / 1000;
    const serverWallMs = performance.now() - serverWallBefore;
    const monitorStats = app.presenceMonitor.stats();
    const hubAfter = app.presenceHub.stats();

    // Results.
    const all: number[] = [];
    const lines: string[] = [];
    let totalEvents = 0;
    let totalSeconds = 0;
    for (const [key, phaseReport] of Object.entries(final.phases)) {
      const index = Number(key);
      const sorted = Float64Array.from(phaseReport.latencies).sort();
      for (const value of phaseReport.latencies) all.push(value);
      const seconds = Math.max(0.001, (phaseReport.lastReceivedAt - phaseReport.firstChangeAt) / 1000);
      totalEvents += phaseReport.delivered;
      totalSeconds += seconds;
      lines.push(
        `  ${(phaseLabels[index - 1] ?? `phase ${index}`).padEnd(38)} ${String(phaseReport.delivered).padStart(7)} events in ${seconds.toFixed(2)} s = ${Math.round(phaseReport.delivered / seconds).toLocaleString('en-US').padStart(7)} events/s; p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted[sorted.length - 1] ?? Number.NaN)}`,
      );
    }
    const sortedAll = Float64Array.from(all).sort();
    const out = [
      '',
      '=== presence benchmark ===',
      `streams:               ${options.streams} (one per viewer, ${options.friends} friends each), ${actors.length} friends changing, ${perActorWatchers} watchers of those friends`,
      `streams open in:       ${(connectMs / 1000).toFixed(2)} s (connected + initial state)`,
      `memory per stream:     RSS ${kb((after.rss - before.rss) / options.streams)}, heap ${kb((after.heapUsed - before.heapUsed) / options.streams)} (server process; RSS ${mb(before.rss)} → ${mb(after.rss)})`,
      `changes published:     ${published}; monitor claimed ${monitorStats.claimed} expiries (${monitorStats.expiryEvents} keyspace events)`,
      `events delivered:      ${final.delivered} of ${expected} expected; unmatched ${final.unmatched}, foreign ${final.foreign}, error events ${final.errors}`,
      `delivery latency:      p50 ${ms(percentile(sortedAll, 50))}, p90 ${ms(percentile(sortedAll, 90))}, p99 ${ms(percentile(sortedAll, 99))}, max ${ms(sortedAll[sortedAll.length - 1] ?? Number.NaN)} (change timestamp → parsed by the client)`,
      `throughput:            ${Math.round(totalEvents / Math.max(totalSeconds, 0.001)).toLocaleString('en-US')} events/s over the change phases`,
      ...lines,
      `server process:        ${Math.round(serverCpuMs)} ms CPU in ${(serverWallMs / 1000).toFixed(1)} s (${Math.round((100 * serverCpuMs) / serverWallMs)}% of a core; the app and the actors' HTTP clients), ${Math.round((1000 * serverCpuMs) / Math.max(final.delivered, 1))} µs per delivered event; event-loop delay p99 ${ms(serverLoopDelay.percentile(99) / 1e6)}, max ${ms(serverLoopDelay.max / 1e6)}`,
      ...final.loads.map((l, i) => `client process ${i + 1}:      ${Math.round(l.cpuMs)} ms CPU in ${(l.wallMs / 1000).toFixed(1)} s (${Math.round((100 * l.cpuMs) / l.wallMs)}% of a core); event-loop delay p99 ${ms(l.loopDelayP99Ms)}, max ${ms(l.loopDelayMaxMs)}`),
      `hub after the run:     ${hubAfter.streams} streams, ${hubAfter.changesReceived} changes received, ${hubAfter.eventsDelivered} events fanned out`,
      '',
    ];
    process.stdout.write(out.join('\n'));
    const jsonIndex = process.argv.indexOf('--json');
    if (jsonIndex !== -1 && process.argv[jsonIndex + 1]) {
      writeFileSync(
        process.argv[jsonIndex + 1]!,
        JSON.stringify({
          streams: options.streams,
          friendsPerStream: options.friends,
          connectS: connectMs / 1000,
          memoryPerStreamKiB: (after.rss - before.rss) / options.streams / 1024,
          heapPerStreamKiB: (after.heapUsed - before.heapUsed) / options.streams / 1024,
          delivered: final.delivered,
          expected,
          p50: percentile(sortedAll, 50),
          p99: percentile(sortedAll, 99),
          eventsPerSecond: totalEvents / Math.max(totalSeconds, 0.001),
          clientProcesses: options.clientProcesses,
          serverCpuUsPerEvent: (1000 * serverCpuMs) / Math.max(final.delivered, 1),
          serverCpuMs,
          clients: final.loads,
        }, null, 2),
      );
    }
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

if (process.argv.includes('--client-worker')) {
  void runClient();
} else {
  runServer().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('benchmark failed:', error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
