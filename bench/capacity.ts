/**
 * Capacity: how many idle authenticated WebSocket connections one instance holds under 1 GiB RSS.
 *
 *   npm run bench:capacity                     # up to 18,000 sockets
 *   npm run bench:capacity -- --max 5000       # other ceilings
 *   npm run bench:capacity -- --quick          # 2,000 sockets
 *   npm run bench:capacity -- --json out.json
 *
 * Starts one real server process (src/server.ts, production settings) on its own database and
 * Redis db, seeds one user per socket, and opens authenticated /ws/chat sockets in batches until
 * the server's RSS reaches the limit or the ceiling is reached, printing RSS as it goes.
 * Client sockets are spread over several loopback source addresses (127.0.0.x) so the ephemeral
 * port range is no limit. Loopback only; stops by itself.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createSigner } from 'fast-jwt';
import WebSocket from 'ws';
import { BENCH_JWT_SECRET, freshDatabase, startChatServer, seedUsers, startProcess, stopProcess } from './lib/setup.ts';
import { argValue, endProgress, hasFlag, progress, round, rssOf, sleep } from './lib/stats.ts';

const quick = hasFlag('quick');
// The client process holds one descriptor per socket: stay below its limit (20,000 here).
const MAX_SOCKETS = Number(argValue('max') ?? (quick ? 2000 : 18_000));
const RSS_LIMIT = Number(argValue('rss-mib') ?? 1024) * 1024 * 1024;
const BATCH = 250;
const JSON_OUT = argValue('json');

export interface CapacityResult {
  sockets: number;
  rssMiB: number;
  idleRssMiB: number;
  perSocketKiB: number;
  projectedUnder1GiB: number;
  stoppedBecause: string;
}

async function main(): Promise<CapacityResult> {
  const db = await freshDatabase('bigtech_bench_capacity', 10);
  const sockets: WebSocket[] = [];
  let server: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    const userIds = await seedUsers(db.databaseUrl, MAX_SOCKETS, 'capbench');
    server = await startChatServer(db);
    const pid = server.process.pid!;
    const port = server.port;
    await sleep(1000);
    const idleRss = rssOf(pid);
    const sign = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' });
    const now = Math.floor(Date.now() / 1000);
    let stoppedBecause = `reached --max ${MAX_SOCKETS}`;
    for (let start = 0; start < userIds.length; start += BATCH) {
      const batch = userIds.slice(start, start + BATCH).map((userId, i) => {
        const token = sign({ sub: String(userId), jti: randomUUID(), iat: now, exp: now + 7200 });
        const localAddress = `127.0.0.${2 + ((start + i) % 8)}`;
        const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/chat?token=${token}`, { localAddress });
        return new Promise<WebSocket>((resolve, reject) => {
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        });
      });
      const opened = await Promise.allSettled(batch);
      for (const outcome of opened) if (outcome.status === 'fulfilled') sockets.push(outcome.value);
      const failure = opened.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failure) {
        stoppedBecause = `could not open more sockets: ${String((failure.reason as Error).message ?? failure.reason)}`;
        break;
      }
      const rss = rssOf(pid);
      progress(`  ${sockets.length} sockets, server RSS ${round(rss / 1024 / 1024)} MiB`);
      if (rss >= RSS_LIMIT) {
        stoppedBecause = `server RSS reached ${round(RSS_LIMIT / 1024 / 1024, 0)} MiB`;
        break;
      }
    }
    endProgress();
    await sleep(2000);
    const rss = rssOf(pid);
    const perSocket = (rss - idleRss) / sockets.length;
    return {
      sockets: sockets.length,
      rssMiB: round(rss / 1024 / 1024),
      idleRssMiB: round(idleRss / 1024 / 1024),
      perSocketKiB: round(perSocket / 1024),
      projectedUnder1GiB: Math.floor((RSS_LIMIT - idleRss) / perSocket),
      stoppedBecause,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
    if (server) await stopProcess(server.process);
    await db.drop();
  }
}

const result = await main();
console.log('');
console.log('| idle sockets held | server RSS MiB | RSS with no sockets MiB | KiB per socket | projected sockets under 1 GiB | stopped because |');
console.log('|---|---|---|---|---|---|');
console.log(`| ${result.sockets} | ${result.rssMiB} | ${result.idleRssMiB} | ${result.perSocketKiB} | ${result.projectedUnder1GiB} | ${result.stoppedBecause} |`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 2));
process.exit(0);
