import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { createGroup, makeUsers, send } from '../helpers/rooms.ts';
import { answerRequest, sendRequest } from '../helpers/social.ts';
import { connectSse, type SseClient } from '../helpers/sse.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * Notifications arrive live (contract: Notifications): a `notification` frame on every socket and
 * user stream of the recipient, on every instance, and marking read updates the unread count there.
 */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
const sockets: WsClient[] = [];
const streams: SseClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  for (const stream of streams.splice(0)) stream.close();
});
afterAll(async () => Promise.all([a?.app.close(), b?.app.close()]));

describe('live notifications', () => {
  it('friend request, acceptance, mention and message notifications reach sockets and user streams on the other instance', async () => {
    const [alice, bob, carol] = await makeUsers(a.app, 3, 'nlive');
    const bobSocket = await WsClient.connect(a.baseUrl, bob!.token);
    sockets.push(bobSocket);
    const bobStream = await connectSse(`${a.baseUrl}/api/events/stream`, { headers: bob!.auth });
    streams.push(bobStream);
    await bobStream.waitFor((e) => e.event === 'connected');

    expect((await sendRequest(b.app, alice!, bob!.id)).statusCode).toBe(201);
    const onSocket = await bobSocket.next((f) => f.type === 'notification', 3000);
    expect(onSocket).toMatchObject({ notification: { type: 'friend_request', actor_id: alice!.id }, unread_count: 1 });
    const onStream = await bobStream.waitFor((e) => e.event === 'notification', { timeoutMs: 3000 });
    expect(JSON.parse(onStream.data)).toEqual(onSocket);

    // My request accepted: to alice (her socket on the other instance).
    const aliceSocket = await WsClient.connect(a.baseUrl, alice!.token);
    sockets.push(aliceSocket);
    expect((await answerRequest(b.app, bob!, alice!.id, 'accept')).statusCode).toBe(200);
    expect(await aliceSocket.next((f) => f.type === 'notification', 3000)).toMatchObject({ notification: { type: 'friend_accepted', actor_id: bob!.id } });

    // A message in a room bob's sockets have not joined, and a mention of carol.
    const room = await createGroup(b.app, alice!, { member_ids: [bob!.id, carol!.id] });
    const carolSocket = await WsClient.connect(a.baseUrl, carol!.token);
    sockets.push(carolSocket);
    await send(b.app, alice!, room.id, `hello @${carol!.username}`);
    expect(await bobSocket.next((f) => f.type === 'notification' && (f.notification as { type: string }).type === 'message', 3000)).toMatchObject({
      notification: { type: 'message', room_id: room.id, count: 1 },
    });
    expect(await carolSocket.next((f) => f.type === 'notification', 3000)).toMatchObject({ notification: { type: 'mention', room_id: room.id } });

    // Marking read on one instance updates the count on the other.
    const read = await b.app.inject({ method: 'POST', url: '/api/notifications/read', headers: bob!.auth, payload: { all: true } });
    expect(read.json()).toEqual({ unread_count: 0 });
    expect(await bobSocket.next((f) => f.type === 'notifications_read', 3000)).toMatchObject({ ids: 'all', unread_count: 0 });
    await bobStream.waitFor((e) => e.event === 'notifications_read', { timeoutMs: 3000 });
  });

  it('a muted room raises none', async () => {
    const [alice, bob] = await makeUsers(a.app, 2, 'nmute');
    const room = await createGroup(b.app, alice!, { member_ids: [bob!.id] });
    const muted = await a.app.inject({ method: 'PATCH', url: `/api/chat-rooms/${room.id}/settings`, headers: bob!.auth, payload: { muted: true } });
    expect(muted.json()).toEqual({ room_id: room.id, muted: true });
    const bobSocket = await WsClient.connect(a.baseUrl, bob!.token);
    sockets.push(bobSocket);
    await send(b.app, alice!, room.id, 'quiet');
    expect(await bobSocket.none((f) => f.type === 'notification', 800)).toBe(true);
  });
});
