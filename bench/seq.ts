/**
 * `npm run bench:seq`: how many messages per second the MySQL message store takes into one busy
 * room now that every send takes the room's next `seq` under the room's counter lock, and into
 * eight rooms at once (unrelated rooms must not queue behind each other).
 *
 *   npm run bench:seq [-- --quick] [--json out.json]
 *
 * Each run keeps `concurrency` sends in flight for `duration` seconds through the store itself
 * (the HTTP cost of a send is measured by bench/rest.ts), then checks that every room's seqs are
 * 1..n with no gap or duplicate.
 */
import { writeFileSync } from 'node:fs';
import { createMysqlClients } from '../src/db/prisma.ts';
import { MysqlMessageStore } from '../src/modules/messages/store/mysql-message.store.ts';
import { freshDatabase, seedGroupRooms, seedUsers } from './lib/setup.ts';
import { argValue, endProgress, hasFlag, percentile, progress, round } from './lib/stats.ts';

export interface SeqResult {
  rooms: number;
  concurrency: number;
  messagesPerSecond: number;
  p50: number;
  p99: number;
  gapsOrDuplicates: number;
}

const quick = hasFlag('quick');
const durationS = Number(argValue('duration') ?? (quick ? 3 : 8));

async function measure(store: MysqlMessageStore, roomIds: readonly number[], userId: number, concurrency: number): Promise<SeqResult> {
  const latencies: number[] = [];
  const stopAt = Date.now() + durationS * 1000;
  let sent = 0;
  const worker = async (w: number) => {
    while (Date.now() < stopAt) {
      const roomId = roomIds[(sent + w) % roomIds.length]!;
      const started = performance.now();
      await store.create({ roomId, userId, content: `bench ${sent}`, messageType: 'text', attachmentUrl: null, replyTo: null, clientMessageId: null });
      latencies.push(performance.now() - started);
      sent += 1;
      if (sent % 500 === 0) progress(`  ${roomIds.length} room(s), ${concurrency} in flight: ${sent} sent`);
    }
  };
  const began = Date.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsedS = (Date.now() - began) / 1000;
  endProgress();
  return {
    rooms: roomIds.length,
    concurrency,
    messagesPerSecond: round(sent / elapsedS, 0),
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    gapsOrDuplicates: await countGaps(store, roomIds),
  };
}

/** Rooms whose seqs are not exactly 1..n. */
async function countGaps(store: MysqlMessageStore, roomIds: readonly number[]): Promise<number> {
  let bad = 0;
  for (const roomId of roomIds) {
    const seqs: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await store.page(roomId, { limit: 100, beforeSeq });
      seqs.push(...page.messages.map((m) => m.seq));
      if (!page.hasMore) break;
      beforeSeq = page.messages.at(-1)!.seq;
    }
    if (seqs.some((seq, i) => seq !== seqs.length - i)) bad += 1;
  }
  return bad;
}

async function main(): Promise<void> {
  const database = await freshDatabase('bigtech_bench_seq', 13);
  const clients = createMysqlClients(database.databaseUrl);
  try {
    const users = await seedUsers(database.databaseUrl, 16, 'seq');
    const rooms = await seedGroupRooms(database.databaseUrl, users, 2);
    const store = new MysqlMessageStore(clients.db, clients.pool);
    const results = [
      await measure(store, rooms.slice(0, 1), users[0]!, 16),
      await measure(store, rooms.slice(1, 2), users[0]!, 4),
      await measure(store, rooms.slice(0, 8), users[0]!, 16),
    ];
    console.log('| rooms | sends in flight | messages/s | p50 ms | p99 ms | rooms with a gap or duplicate |');
    console.log('|---|---|---|---|---|---|');
    for (const r of results) console.log(`| ${r.rooms} | ${r.concurrency} | ${r.messagesPerSecond} | ${r.p50} | ${r.p99} | ${r.gapsOrDuplicates} |`);
    const json = argValue('json');
    if (json) writeFileSync(json, JSON.stringify({ durationS, results }));
  } finally {
    await clients.close();
    await database.drop();
  }
}

await main();
