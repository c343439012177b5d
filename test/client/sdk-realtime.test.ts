import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatSocket, type Message, RoomStream } from '../../client/src/index.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import type { ServerProcess } from '../helpers/faults.ts';
import { restartableServer } from '../helpers/instance-pair.ts';
import { createGroup, eventually, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

/**
 * The SDK's real-time half (client/) against two real instances: B in this process, A a server
 * process that is killed and started again on the same port in the middle of a conversation.
 */
let b: { app: App; baseUrl: string };
let a: ServerProcess | undefined;
let portA: number;
const sockets: ChatSocket[] = [];

let startA: () => Promise<ServerProcess>;

beforeAll(async () => {
  const restartable = await restartableServer();
  portA = restartable.port;
  startA = restartable.start;
  [b, a] = await Promise.all([startTestServer(), startA()]);
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await a?.kill();
  await b?.app.close();
});

function chat(baseUrl: string, user: TestUser): ChatSocket {
  const socket = new ChatSocket({ baseUrl, token: user.token, WebSocket, minReconnectDelayMs: 100, maxReconnectDelayMs: 500 });
  sockets.push(socket);
  return socket;
}

/** Every `message` the app sees, by content. */
function inbox(socket: ChatSocket): Message[] {
  const seen: Message[] = [];
  socket.on('message', (frame) => seen.push(frame.message));
  return seen;
}

async function joined(socket: ChatSocket, roomId: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const off = socket.on('joined', (frame) => {
      if (frame.room_id !== roomId) return;
      off();
      resolve();
    });
    socket.join(roomId);
  });
}

describe('ChatSocket', () => {
  it('sends through one instance and receives through the other, each message once (no ack/message double)', async () => {
    const [alice, bob] = await makeUsers(b.app, 2, 'sdk');
    const room = await createGroup(b.app, alice!, { member_ids: [bob!.id] });
    const aliceSocket = chat(`http://127.0.0.1:${portA}`, alice!);
    const bobSocket = chat(b.baseUrl, bob!);
    const [aliceInbox, bobInbox] = [inbox(aliceSocket), inbox(bobSocket)];
    await Promise.all([aliceSocket.connect(), bobSocket.connect()]);
    await Promise.all([joined(aliceSocket, room.id), joined(bobSocket, room.id)]);

    const stored = await aliceSocket.send(room.id, '안녕하세요 👋');
    expect(stored).toMatchObject({ room_id: room.id, content: '안녕하세요 👋', seq: 1 });
    await eventually(() => bobInbox.length === 1 && aliceInbox.length === 1, 3000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bobInbox.map((m) => m.id)).toEqual([stored.id]);
    expect(aliceInbox.map((m) => m.id)).toEqual([stored.id]);
  });

  it('loses and duplicates nothing when its server restarts mid-conversation', async () => {
    const [alice, bob] = await makeUsers(b.app, 2, 'sdk');
    const room = await createGroup(b.app, alice!, { member_ids: [bob!.id] });
    const bobSocket = chat(`http://127.0.0.1:${portA}`, bob!);
    const aliceSocket = chat(b.baseUrl, alice!);
    const bobInbox = inbox(bobSocket);
    const reopened: boolean[] = [];
    bobSocket.on('open', (event) => reopened.push(event.reconnect));
    await Promise.all([aliceSocket.connect(), bobSocket.connect()]);
    await Promise.all([joined(aliceSocket, room.id), joined(bobSocket, room.id)]);

    const sent: string[] = [];
    for (let i = 0; i < 3; i += 1) sent.push((await aliceSocket.send(room.id, `before ${i}`)).id);
    await eventually(() => bobInbox.length === 3, 3000);

    await a!.kill();
    // Alice keeps talking through B; Bob writes while his server is gone (queued, sent on reconnect).
    for (let i = 0; i < 4; i += 1) sent.push((await aliceSocket.send(room.id, `while down ${i}`)).id);
    const bobWhileDown = bobSocket.send(room.id, 'bob while down');
    a = await startA();
    const bobMessage = await bobWhileDown;
    sent.push(bobMessage.id);
    for (let i = 0; i < 2; i += 1) sent.push((await aliceSocket.send(room.id, `after ${i}`)).id);

    await eventually(() => bobInbox.length >= sent.length, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reopened).toEqual([false, true]);
    expect(bobInbox.map((m) => m.id)).toEqual(sent);
    // Stored exactly once each, in seq order 1..n.
    const history = await b.app.inject({ url: `/api/messages/${room.id}?limit=50`, headers: alice!.auth });
    const seqs = (history.json().messages as Message[]).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: sent.length }, (_, i) => sent.length - i));
  }, 40_000);

  it('rejects a send the server refuses, with its code', async () => {
    const [alice, stranger] = await makeUsers(b.app, 2, 'sdk');
    const room = await createGroup(b.app, alice!, {});
    const socket = chat(b.baseUrl, stranger!);
    await socket.connect();
    await expect(socket.send(room.id, 'not a member')).rejects.toMatchObject({ name: 'ChatSendError', code: 'SEND_FAILED' });
  });
});

describe('RoomStream (EventSource)', () => {
  it('receives the room events with the token in the query string', async () => {
    const [alice, bob] = await makeUsers(b.app, 2, 'sdk');
    const room = await createGroup(b.app, alice!, { member_ids: [bob!.id] });
    const stream = new RoomStream(room.id, { baseUrl: b.baseUrl, token: bob!.token, EventSource });
    try {
      const got: string[] = [];
      let isJoined = false;
      stream.on('joined', () => (isJoined = true));
      stream.on('message', (frame) => got.push(frame.message.content ?? ''));
      await eventually(() => isJoined, 3000);
      const socket = chat(b.baseUrl, alice!);
      await socket.connect();
      await socket.send(room.id, 'over SSE');
      await eventually(() => got.length === 1, 3000);
      expect(got).toEqual(['over SSE']);
    } finally {
      stream.close();
    }
  });
});
