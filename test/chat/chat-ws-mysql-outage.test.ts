import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../helpers/app.ts';
import { type ServerProcess, sleep, type TcpProxy, waitUntil } from '../helpers/faults.ts';
import { startChildBehindDbProxy } from '../helpers/instance-pair.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * A WebSocket join that fails on the database. Instance A is the real server as a child
 * process (an unhandled rejection there ends the process, as in production) with its MySQL
 * connections through a TCP proxy the test cuts; B runs in the test process on the database
 * directly, to set up users and the room. With MySQL out of reach, the join of
 * /ws/chat/:room_id must be answered like a failed `join` frame, leave the socket usable and
 * A running, and succeed once MySQL is back.
 */

let dbProxy: TcpProxy;
let a: ServerProcess;
let b: { app: App; baseUrl: string };
let owner: TestUser;
let roomId: number;
const clients: WsClient[] = [];

beforeAll(async () => {
  ({ dbProxy, child: a, local: b } = await startChildBehindDbProxy());
  const users = await makeUsers(b.app, 2, 'wsdb');
  owner = users[0]!;
  // Created on B: A has never looked this membership up, so its join must ask MySQL.
  roomId = (await createGroup(b.app, owner, { name: 'join during outage', member_ids: [users[1]!.id] })).id;
});

afterAll(async () => {
  for (const client of clients) client.close();
  await a?.kill();
  await b?.app.close();
  await dbProxy?.close();
});

const isFrameFailure = (frame: { type: string; code?: unknown; message?: unknown }) =>
  frame.type === 'error' && frame.code === 'BAD_REQUEST' && frame.message === 'The frame could not be handled';

describe('/ws/chat/:room_id while MySQL is unreachable', () => {
  it('answers the failed join like a failed join frame, keeps the socket and the process, and joins once MySQL is back', async () => {
    dbProxy.cut('refuse');

    const client = await WsClient.connect(a.baseUrl, owner.token, `/ws/chat/${roomId}`);
    clients.push(client);
    const closed = client.closed.then(async ({ code }) => {
      await sleep(1000);
      throw new Error(`socket closed with ${code} instead of an error frame; server process running: ${a.running}`);
    });
    const onAccept = await Promise.race([client.next(isFrameFailure, 10_000), closed]);
    client.send({ type: 'join', room_id: roomId });
    expect(await client.next(isFrameFailure, 10_000)).toEqual(onAccept);

    client.send({ type: 'ping' });
    expect(await client.ofType('pong')).toEqual({ type: 'pong' });
    expect(a.running).toBe(true);
    const failure = a.output.split('\n').find((line) => line.includes('websocket frame failed'));
    expect(JSON.parse(failure ?? '{}')).toMatchObject({ userId: owner.id, roomId, frameType: 'join' });

    dbProxy.resume();
    const joined = await waitUntil(async () => {
      client.send({ type: 'join', room_id: roomId });
      return client.next((frame) => frame.type === 'joined' || isFrameFailure(frame), 5000).then((frame) => {
        if (frame.type !== 'joined') throw new Error('MySQL not back yet');
        return frame;
      });
    }, 20_000, 200);
    expect(joined).toMatchObject({ room_id: roomId, online_user_ids: [owner.id] });
    expect(a.running).toBe(true);
  });
});
