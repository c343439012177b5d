import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import type { ServerProcess } from '../helpers/faults.ts';
import { restartableServer } from '../helpers/instance-pair.ts';
import { createGroup, eventually, makeUsers, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

/**
 * A real EventSource client (the `eventsource` package, the WHATWG algorithm for Node) on both
 * chat streams of a server process that is killed and started again on the same port while
 * messages keep coming through another instance: it reconnects by itself with Last-Event-ID and
 * gets every message, once.
 */
let b: { app: App; baseUrl: string };
let server: ServerProcess | undefined;
let port: number;

let startA: () => Promise<ServerProcess>;

beforeAll(async () => {
  const restartable = await restartableServer();
  port = restartable.port;
  startA = restartable.start;
  [b, server] = await Promise.all([startTestServer(), startA()]);
});
afterAll(async () => {
  await server?.kill();
  await b?.app.close();
});

interface Received {
  ids: string[];
  opens: number;
  lastEventIds: (string | undefined)[];
}

/** An EventSource that records message ids (from `message` events) and how often it (re)opened. */
function listen(url: string, user: TestUser): { source: EventSource; received: Received } {
  const received: Received = { ids: [], opens: 0, lastEventIds: [] };
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: user.auth.authorization } }),
  });
  source.addEventListener('open', () => (received.opens += 1));
  source.addEventListener('message', (event) => {
    received.ids.push((JSON.parse(event.data) as { message: { id: string } }).message.id);
    received.lastEventIds.push(event.lastEventId);
  });
  return { source, received };
}

describe('EventSource across a server restart', () => {
  it('resumes both chat streams through Last-Event-ID with nothing missed and nothing twice', async () => {
    const [owner, reader] = await makeUsers(b.app, 2, 'es');
    const room = await createGroup(b.app, owner!, { member_ids: [reader!.id] });
    const base = `http://127.0.0.1:${port}`;
    const roomStream = listen(`${base}/api/messages/stream/${room.id}`, reader!);
    const userStream = listen(`${base}/api/events/stream`, reader!);
    try {
      await eventually(() => roomStream.received.opens === 1 && userStream.received.opens === 1, 5000);
      const sent: string[] = [];
      for (let i = 0; i < 3; i += 1) sent.push((await send(b.app, owner!, room.id, `before ${i}`)).id);
      await eventually(() => roomStream.received.ids.length === 3 && userStream.received.ids.length === 3, 3000);

      await server!.kill();
      for (let i = 0; i < 5; i += 1) sent.push((await send(b.app, owner!, room.id, `while down ${i}`)).id);
      server = await startA();
      await eventually(() => roomStream.received.opens === 2 && userStream.received.opens === 2, 15_000);
      for (let i = 0; i < 2; i += 1) sent.push((await send(b.app, owner!, room.id, `after ${i}`)).id);

      await eventually(() => roomStream.received.ids.length >= sent.length && userStream.received.ids.length >= sent.length, 5000);
      expect(roomStream.received.ids).toEqual(sent);
      expect(userStream.received.ids).toEqual(sent);
      for (const id of [...roomStream.received.lastEventIds, ...userStream.received.lastEventIds]) expect(id).toBeTruthy();
    } finally {
      roomStream.source.close();
      userStream.source.close();
    }
  }, 40_000);
});
