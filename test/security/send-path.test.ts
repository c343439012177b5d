import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { recentKey } from '../../src/modules/messages/recent-messages.cache.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { type TcpProxy, waitUntil } from '../helpers/faults.ts';
import { proxiedDatabase } from '../helpers/instance-pair.ts';
import { createGroup, eventually, recordDomainEvents } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';

/**
 * "Once a message is stored it is acknowledged, cached best-effort and published, whatever
 * fails after." The app's MySQL connections go through a TCP proxy, so a burst can be made to
 * meet a slow database (pool exhaustion), and Redis failures are real Redis errors.
 */

let proxy: TcpProxy;
let app: App;
let baseUrl: string;
let sender: TestUser;
let observer: TestUser;
let roomId: number;
const clients: WsClient[] = [];

beforeAll(async () => {
  const db = await proxiedDatabase();
  proxy = db.proxy;
  ({ app, baseUrl } = await startTestServer({ DATABASE_URL: db.databaseUrl }));
  [sender, observer] = await Promise.all([createUser(app, { prefix: 'sendpath' }), createUser(app, { prefix: 'sendpath' })]);
  roomId = (await createGroup(app, sender, { name: 'send path', member_ids: [observer.id] })).id;
});

afterAll(async () => {
  for (const client of clients) client.close();
  await app?.close();
  await proxy?.close();
});

async function connect(user: TestUser, joinRoomId = roomId): Promise<WsClient> {
  const client = await WsClient.connect(baseUrl, user.token);
  clients.push(client);
  client.send({ type: 'join', room_id: joinRoomId });
  await client.ofType('joined', 5000);
  return client;
}

/** Client message ids of this room that MySQL holds. */
async function storedClientIds(prefix: string): Promise<Set<string>> {
  const rows = await app.db.chatMessage.findMany({
    where: { roomId, clientMessageId: { startsWith: prefix } },
    select: { clientMessageId: true },
  });
  return new Set(rows.flatMap((row) => (row.clientMessageId ? [row.clientMessageId] : [])));
}

describe('a burst of WebSocket sends against a slow database', () => {
  it('acknowledges and delivers every stored message; only unstored ones fail', async () => {
    const SOCKETS = 25;
    const PER_SOCKET = 40; // the per-connection burst
    const watcher = await connect(observer);
    const senders = await Promise.all(Array.from({ length: SOCKETS }, () => connect(sender)));
    const prefix = `burst-${Date.now().toString(36)}-`;
    const answers = new Map<string, Frame>();
    const delivered = new Set<string>();
    const done = new Promise<void>((resolve) => {
      for (const client of senders) {
        client.socket.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as Frame;
          const tempId = frame.type === 'ack' || frame.type === 'error' ? (frame.temp_id as string | undefined) : undefined;
          if (tempId?.startsWith(prefix)) answers.set(tempId, frame);
          if (answers.size === SOCKETS * PER_SOCKET) resolve();
        });
      }
    });
    watcher.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const message = frame.message as MessageView | undefined;
      if (frame.type === 'message' && message?.client_message_id?.startsWith(prefix)) delivered.add(message.client_message_id);
    });

    // Every reply from MySQL now takes 40 ms: 16 pooled connections answer at most ~400 statements/s.
    proxy.replyDelayMs = 40;
    try {
      senders.forEach((client, s) => {
        for (let i = 0; i < PER_SOCKET; i += 1) {
          client.send({ type: 'message', room_id: roomId, content: `burst ${s}/${i}`, temp_id: `${prefix}${s}-${i}` });
        }
      });
      await done;
    } finally {
      proxy.replyDelayMs = 0;
    }

    const stored = await storedClientIds(prefix);
    const acked = [...answers].filter(([, frame]) => frame.type === 'ack').map(([tempId]) => tempId);
    const failedButStored = [...answers].filter(([tempId, frame]) => frame.type === 'error' && stored.has(tempId));
    console.log(
      `burst of ${SOCKETS * PER_SOCKET} sends over a slow database: ${stored.size} stored, ${acked.length} acknowledged, ` +
        `${failedButStored.length} stored but reported failed`,
    );
    expect(stored.size).toBeGreaterThan(0);
    expect(failedButStored).toEqual([]);
    expect(new Set(acked)).toEqual(stored);
    await eventually(() => delivered.size >= stored.size, 10_000).catch(() => {});
    expect(delivered).toEqual(stored);
  }, 60_000);
});

describe('Redis failing after the message is stored', () => {
  it('REST: a failed cache push still answers 201, publishes the message and drops the list', async () => {
    const watcher = await connect(observer);
    // Fill the room's recent list, then break that key: the write-through script now fails in Redis.
    expect((await app.inject({ url: `/api/messages/${roomId}?limit=5`, headers: observer.auth })).statusCode).toBe(200);
    await app.redis.del(recentKey(roomId));
    await app.redis.set(recentKey(roomId), 'not a list');
    const recorder = await recordDomainEvents(app);
    try {
      const res = await app.inject({
        method: 'POST',
        url: `/api/messages/${roomId}`,
        headers: sender.auth,
        payload: { content: 'stored before the cache failed', client_message_id: 'cache-fails-1' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const message = res.json().message as MessageView;
      expect(message).toMatchObject({ content: 'stored before the cache failed', version: 1 });
      const frame = await watcher.next((f) => f.type === 'message' && (f.message as MessageView).id === message.id, 3000);
      expect(frame.message).toEqual(message);
      await eventually(() => recorder.events.some((event) => event.type === 'message_created' && event.message.id === message.id));
      // The failed push dropped the key it could not update: the next read comes from the store.
      await waitUntil(async () => expect(await app.redis.exists(recentKey(roomId))).toBe(0), 3000);
      const history = await app.inject({ url: `/api/messages/${roomId}?limit=5`, headers: observer.auth });
      expect(history.json().messages[0]).toEqual(message);
    } finally {
      recorder.stop();
      await app.redis.del(recentKey(roomId));
    }
  });

  it('WebSocket: a failed cache push still acknowledges and delivers', async () => {
    const watcher = await connect(observer);
    const client = await connect(sender);
    await app.redis.set(recentKey(roomId), 'not a list');
    try {
      client.send({ type: 'message', room_id: roomId, content: 'ws after cache failure', temp_id: 'ws-cache-fails-1' });
      const answer = await client.next((f) => f.temp_id === 'ws-cache-fails-1', 5000);
      expect(answer).toMatchObject({ type: 'ack', message: { content: 'ws after cache failure', version: 1 } });
      const message = answer.message as MessageView;
      expect((await watcher.next((f) => f.type === 'message' && (f.message as MessageView).id === message.id)).message).toEqual(message);
    } finally {
      await app.redis.del(recentKey(roomId));
    }
  });
});
