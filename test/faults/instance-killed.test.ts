import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../helpers/app.ts';
import { type ServerProcess, sleep, type TcpProxy, waitUntil } from '../helpers/faults.ts';
import { startChildBehindDbProxy } from '../helpers/instance-pair.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';

/**
 * An instance killed with open sockets. Instance A is the real server as a child process
 * (its MySQL connections through a TCP proxy, so the test can slow A's database replies),
 * instance B runs in the test process; both share the run's MariaDB database and Redis db.
 * A is SIGKILLed while its client has messages in flight: one stored with its ack lost, some
 * never stored. B's clients must not notice; the client of A reconnects to B and resends
 * every temp_id it sent (a client unsure of its state would): each message ends up stored
 * exactly once, a stored one comes back with its id, and nothing acknowledged is lost.
 */

let dbProxy: TcpProxy;
let a: ServerProcess;
let b: { app: App; baseUrl: string };
let sender: TestUser;
let peer: TestUser;
let other: TestUser;
let roomId: number;
const clients: WsClient[] = [];

beforeAll(async () => {
  ({ dbProxy, child: a, local: b } = await startChildBehindDbProxy());
  [sender, peer, other] = (await makeUsers(b.app, 3, 'killed')) as [TestUser, TestUser, TestUser];
  roomId = (await createGroup(b.app, sender, { name: 'instance killed', member_ids: [peer.id, other.id] })).id;
});

afterAll(async () => {
  for (const client of clients) client.close();
  await a?.kill();
  await b?.app.close();
  await dbProxy?.close();
});

async function connect(baseUrl: string, user: TestUser): Promise<WsClient> {
  const client = await WsClient.connect(baseUrl, user.token, `/ws/chat/${roomId}`);
  clients.push(client);
  await client.next((frame) => frame.type === 'joined' && frame.room_id === roomId, 5000);
  return client;
}

const messageId = (frame: Frame) => (frame.message as { id: string }).id;

interface StoredMessage {
  id: string;
  client_message_id: string | null;
}

async function history(user: TestUser): Promise<StoredMessage[]> {
  const res = await b.app.inject({ url: `/api/messages/${roomId}?limit=100`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().messages as StoredMessage[];
}

describe('an instance killed with open sockets', () => {
  it('leaves the other instance untouched; a resend by temp_id on reconnect stores each message exactly once', async () => {
    const onA = await connect(a.baseUrl, sender);
    const [peerOnB, otherOnB] = await Promise.all([connect(b.baseUrl, peer), connect(b.baseUrl, other)]);
    const deliveredOnB = new Map<WsClient, string[]>();
    for (const client of [peerOnB, otherOnB]) {
      deliveredOnB.set(client, []);
      client.socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Frame;
        if (frame.type === 'message') deliveredOnB.get(client)?.push(messageId(frame));
      });
    }

    // A works and fans out to B before the crash.
    onA.send({ type: 'message', room_id: roomId, content: 'before the crash', temp_id: 'kill-warmup' });
    const warmup = messageId(await onA.next((f) => f.type === 'ack' && f.temp_id === 'kill-warmup', 5000));
    await peerOnB.next((f) => f.type === 'message' && messageId(f) === warmup, 3000);

    // Two more acknowledged messages, then the crash, staged so that both interesting cases
    // happen: A's database replies are delayed, so `kill-stored` is committed in MySQL while
    // A still waits for the reply (A is killed the moment the row is visible: stored, ack
    // lost), and `kill-lost-*` reach A but never the database.
    const acks = new Map<string, string>([['kill-warmup', warmup]]);
    onA.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'ack' && typeof frame.temp_id === 'string') acks.set(frame.temp_id, messageId(frame));
    });
    const contents = new Map<string, string>([['kill-warmup', 'before the crash']]);
    const send = (tempId: string) => {
      contents.set(tempId, `message ${tempId}`);
      onA.send({ type: 'message', room_id: roomId, content: contents.get(tempId), temp_id: tempId });
    };
    for (const tempId of ['kill-acked-1', 'kill-acked-2']) {
      send(tempId);
      await onA.next((f) => f.type === 'ack' && f.temp_id === tempId, 3000);
    }
    dbProxy.replyDelayMs = 300;
    send('kill-stored');
    await waitUntil(async () => {
      expect(await b.app.db.chatMessage.count({ where: { roomId, clientMessageId: 'kill-stored' } })).toBe(1);
    }, 10_000, 5);
    send('kill-lost-1');
    send('kill-lost-2');
    await a.kill();
    const closed = await Promise.race([onA.closed, sleep(3000).then(() => undefined)]);
    expect(closed, 'the client of the killed instance sees its socket drop').toBeDefined();
    const ackedBeforeCrash = new Map(acks);
    expect([...ackedBeforeCrash.keys()].sort()).toEqual(['kill-acked-1', 'kill-acked-2', 'kill-warmup']);
    const tempIds = ['kill-warmup', 'kill-acked-1', 'kill-acked-2', 'kill-stored', 'kill-lost-1', 'kill-lost-2'];
    const storedBefore = await b.app.db.chatMessage.findMany({ where: { roomId, clientMessageId: { in: tempIds } } });
    expect(storedBefore.map((row) => row.clientMessageId).sort()).toEqual(['kill-acked-1', 'kill-acked-2', 'kill-stored', 'kill-warmup']);

    // B's clients are unaffected: no close, and they keep talking to each other.
    peerOnB.send({ type: 'message', room_id: roomId, content: 'still here', temp_id: 'kill-peer-1' });
    const peerAck = await peerOnB.next((f) => f.type === 'ack' && f.temp_id === 'kill-peer-1', 3000);
    await otherOnB.next((f) => f.type === 'message' && messageId(f) === messageId(peerAck), 3000);
    otherOnB.send({ type: 'ping' });
    await otherOnB.ofType('pong', 2000);

    // The client of A reconnects (to B) and resends everything it is unsure of, by temp_id.
    const reconnected = await connect(b.baseUrl, sender);
    for (const tempId of tempIds) {
      reconnected.send({ type: 'message', room_id: roomId, content: contents.get(tempId), temp_id: tempId });
    }
    const resent = new Map<string, string>();
    for (const tempId of tempIds) {
      const frame = await reconnected.next((f) => (f.type === 'ack' || f.type === 'error') && f.temp_id === tempId, 5000);
      expect(frame.type, JSON.stringify(frame)).toBe('ack');
      resent.set(tempId, messageId(frame));
    }
    // An acknowledged message comes back as itself, never as a second copy.
    for (const [tempId, id] of ackedBeforeCrash) expect(resent.get(tempId), tempId).toBe(id);

    // History: every temp_id exactly once, under the id its (last) ack named; nothing acked lost.
    const stored = await history(peer);
    expect(resent.get('kill-stored')).toBe(String(storedBefore.find((row) => row.clientMessageId === 'kill-stored')?.id));
    for (const tempId of tempIds) {
      const copies = stored.filter((message) => message.client_message_id === tempId);
      expect(copies.map((message) => message.id), tempId).toEqual([resent.get(tempId)]);
    }
    expect(stored.filter((message) => message.client_message_id === 'kill-peer-1')).toHaveLength(1);

    // B's clients never got a message twice, and never lost their sockets.
    await sleep(300);
    for (const [client, seen] of deliveredOnB) {
      expect(new Set(seen).size, 'no message delivered twice').toBe(seen.length);
      expect(seen).toContain(warmup);
      expect(client.socket.readyState).toBe(client.socket.OPEN);
    }
  });
});
