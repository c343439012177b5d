/**
 * `npm run bench:recovery`: how long a reconnecting client waits for 500 missed events, and how
 * fast the SSE chat streams deliver.
 *
 *   npm run bench:recovery [-- --quick] [--json out.json]
 *
 * One production-mode server process on its own database and Redis db. Recovery: a room gets 500
 * events (messages over REST), then a WebSocket joins with `since` = the first event id, many
 * times over; the time is from the `join` frame to `joined` (all 499 later events received).
 * SSE delivery: `streams` clients on `GET /api/messages/stream/:room_id` of rooms of 10 members,
 * messages sent at a steady rate; latency is from the send to the event's arrival.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { createSigner } from 'fast-jwt';
import WebSocket from 'ws';
import { SseParser } from '../test/helpers/sse.ts';
import { BENCH_JWT_SECRET, freshDatabase, seedGroupRooms, seedUsers, startChatServer, stopProcess } from './lib/setup.ts';
import { argValue, endProgress, hasFlag, percentile, progress, round, sleep } from './lib/stats.ts';

export interface RecoveryResult {
  events: number;
  runs: number;
  p50: number;
  p99: number;
  sse: { streams: number; messagesPerSecond: number; delivered: number; expected: number; p50: number; p99: number };
}

const quick = hasFlag('quick');
const RECOVERY_EVENTS = 500;
const RUNS = quick ? 10 : 40;
const STREAMS = Number(argValue('streams') ?? (quick ? 100 : 500));
const ROOM_SIZE = 10;
const RATE = quick ? 50 : 100;
const SSE_SECONDS = quick ? 3 : 8;

const signer = createSigner({ key: BENCH_JWT_SECRET, algorithm: 'HS256' });
const tokenFor = (userId: number) => {
  const now = Math.floor(Date.now() / 1000);
  return signer({ sub: String(userId), jti: randomUUID(), iat: now, exp: now + 7200 });
};

async function post(base: string, token: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The first event id of the room, read by a socket that joins before the messages are sent. */
async function fillRoom(base: string, port: number, token: string, roomId: number): Promise<string> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/chat/${roomId}?token=${token}`);
  let first: string | undefined;
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; event_id?: string };
    if (frame.type === 'message' && first === undefined) first = frame.event_id;
  });
  await new Promise((resolve) => socket.once('open', resolve));
  await sleep(200);
  for (let i = 0; i < RECOVERY_EVENTS; i += 1) {
    await post(base, token, `/api/messages/${roomId}`, { content: `recovery ${i}` });
    if (i % 50 === 0) progress(`  filling the room: ${i}/${RECOVERY_EVENTS}`);
  }
  endProgress();
  await sleep(200);
  socket.close();
  if (!first) throw new Error('no event id seen');
  return first;
}

async function timeRecovery(port: number, token: string, roomId: number, since: string): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/chat?token=${token}`);
  await new Promise((resolve) => socket.once('open', resolve));
  let replayed = 0;
  const started = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; recovered?: boolean };
      if (frame.type === 'message') replayed += 1;
      if (frame.type === 'joined') {
        if (!frame.recovered || replayed < RECOVERY_EVENTS - 1) reject(new Error(`recovered ${String(frame.recovered)} with ${replayed} events`));
        else resolve(performance.now() - started);
      }
    });
  });
  socket.send(JSON.stringify({ type: 'join', room_id: roomId, since }));
  const ms = await done;
  socket.close();
  return ms;
}

function openStream(port: number, token: string, roomId: number, onMessage: (content: string) => void): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: `/api/messages/stream/${roomId}`, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream ${res.statusCode}`));
      const parser = new SseParser(
        (event) => {
          if (event.event === 'message') onMessage((JSON.parse(event.data) as { message: { content: string } }).message.content);
          if (event.event === 'joined') resolve(request);
        },
        () => {},
      );
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.push(chunk));
    });
    request.once('error', reject);
  });
}

async function sseDelivery(base: string, port: number, users: number[], rooms: number[]): Promise<RecoveryResult['sse']> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const requests: http.ClientRequest[] = [];
  const streamRooms = rooms.slice(0, Math.ceil(STREAMS / ROOM_SIZE));
  for (let i = 0; i < STREAMS; i += 1) {
    const roomIndex = Math.floor(i / ROOM_SIZE) % streamRooms.length;
    const userId = users[roomIndex * ROOM_SIZE + (i % ROOM_SIZE)]!;
    requests.push(await openStream(port, tokenFor(userId), streamRooms[roomIndex]!, (content) => {
      const at = sentAt.get(content);
      if (at !== undefined) latencies.push(performance.now() - at);
    }));
    if (i % 50 === 0) progress(`  SSE streams open: ${i}/${STREAMS}`);
  }
  endProgress();
  const senders = streamRooms.map((_, index) => tokenFor(users[index * ROOM_SIZE]!));
  let sent = 0;
  const stopAt = Date.now() + SSE_SECONDS * 1000;
  while (Date.now() < stopAt) {
    const tick = Date.now();
    const batch = Array.from({ length: Math.max(1, Math.round(RATE / 10)) }, () => {
      const index = sent % streamRooms.length;
      const content = `sse ${sent++}`;
      sentAt.set(content, performance.now());
      return post(base, senders[index]!, `/api/messages/${streamRooms[index]}`, { content });
    });
    await Promise.all(batch);
    progress(`  SSE delivery: ${sent} sent, ${latencies.length} delivered`);
    await sleep(Math.max(0, 100 - (Date.now() - tick)));
  }
  await sleep(1000);
  endProgress();
  for (const request of requests) request.destroy();
  const membersPerMessage = Math.min(ROOM_SIZE, STREAMS);
  return {
    streams: STREAMS,
    messagesPerSecond: RATE,
    delivered: latencies.length,
    expected: sent * membersPerMessage,
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
  };
}

async function main(): Promise<void> {
  const db = await freshDatabase('bigtech_bench_recovery', 11);
  let server: Awaited<ReturnType<typeof startChatServer>> | undefined;
  try {
    const roomCount = Math.ceil(STREAMS / ROOM_SIZE) + 1;
    const users = await seedUsers(db.databaseUrl, roomCount * ROOM_SIZE, 'recovery');
    const rooms = await seedGroupRooms(db.databaseUrl, users, ROOM_SIZE);
    server = await startChatServer(db, { EVENT_HISTORY_SIZE: '1000' });
    server.process.stdout?.removeAllListeners('data');
    const base = `http://127.0.0.1:${server.port}`;
    const recoveryRoom = rooms.at(-1)!;
    const owner = users[(rooms.length - 1) * ROOM_SIZE]!;
    const token = tokenFor(owner);
    const since = await fillRoom(base, server.port, token, recoveryRoom);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      times.push(await timeRecovery(server.port, token, recoveryRoom, since));
      progress(`  recovery of ${RECOVERY_EVENTS} events: run ${run + 1}/${RUNS}`);
    }
    endProgress();
    const sse = await sseDelivery(base, server.port, users, rooms.slice(0, -1));
    const result: RecoveryResult = { events: RECOVERY_EVENTS, runs: RUNS, p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), sse };
    console.log(`recovery of ${RECOVERY_EVENTS} events (join with since → joined): p50 ${result.p50} ms, p99 ${result.p99} ms over ${RUNS} runs`);
    console.log(`SSE room streams: ${sse.streams} streams, ${sse.messagesPerSecond} msg/s: ${sse.delivered}/${sse.expected} delivered, p50 ${sse.p50} ms, p99 ${sse.p99} ms`);
    const json = argValue('json');
    if (json) writeFileSync(json, JSON.stringify(result));
  } finally {
    if (server) await stopProcess(server.process);
    await db.drop();
  }
}

await main();
