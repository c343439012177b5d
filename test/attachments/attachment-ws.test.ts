import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { makeImage, upload } from '../helpers/attachments.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/** Two instances on real ports sharing MariaDB, Redis and UPLOAD_DIR: A and B. */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
const clients: WsClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([a.app.close(), b.app.close()]);
});

async function connect(server: { baseUrl: string }, user: TestUser): Promise<WsClient> {
  const client = await WsClient.connect(server.baseUrl, user.token);
  clients.push(client);
  return client;
}

async function join(client: WsClient, roomId: number): Promise<void> {
  client.send({ type: 'join', room_id: roomId });
  await client.next((f) => f.type === 'joined' && f.room_id === roomId);
}

describe('attachments over WebSocket, across instances', () => {
  it('an image sent on A reaches a member on B with its attachment, and B serves the file; a leaver is refused', async () => {
    const [owner, member, leaver] = (await makeUsers(a.app, 3, 'attws')) as [TestUser, TestUser, TestUser];
    const roomId = (await createGroup(a.app, owner, { member_ids: [member.id, leaver.id] })).id;
    const image = await makeImage('jpeg', 1000, 500);
    const uploaded = (await upload(a.app, owner, roomId, { data: image, filename: 'view.jpg' })).json().attachment;

    const sender = await connect(a, owner);
    const receiver = await connect(b, member);
    await Promise.all([join(sender, roomId), join(receiver, roomId)]);
    sender.send({ type: 'message', room_id: roomId, message_type: 'image', attachment_id: uploaded.id, content: 'sunset', temp_id: 'tmp-ws-1' });
    const ack = await sender.ofType('ack');
    expect((ack.message as MessageView).attachment).toMatchObject({ id: uploaded.id, width: 1000, height: 500 });

    const frame = await receiver.next((f) => f.type === 'message');
    const message = frame.message as MessageView;
    expect(message).toMatchObject({ message_type: 'image', content: 'sunset', attachment: { id: uploaded.id, kind: 'image', width: 1000, height: 500 } });
    expect(message.attachment_url).toBe(message.attachment?.url);
    const thumbnail = await fetch(`${b.baseUrl}${message.attachment!.thumbnail_url}`);
    expect(thumbnail.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([320, 160]);
    const original = await fetch(`${b.baseUrl}${message.attachment!.url}`);
    expect(Buffer.from(await original.arrayBuffer()).equals(image)).toBe(true);

    // The resend of the same temp_id gets the same message, not a second one.
    sender.send({ type: 'message', room_id: roomId, message_type: 'image', attachment_id: uploaded.id, temp_id: 'tmp-ws-1' });
    expect(((await sender.ofType('ack')).message as MessageView).id).toBe(message.id);

    const leaverCopy = (await b.app.inject({ url: `/api/messages/${roomId}`, headers: leaver.auth })).json().messages[0] as MessageView;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await b.app.inject({ method: 'POST', url: `/api/group-rooms/${roomId}/leave`, headers: leaver.auth })).statusCode).toBe(204);
    for (const url of [leaverCopy.attachment!.url, message.attachment!.url]) {
      expect((await fetch(`${a.baseUrl}${url}`)).status, url).toBe(403);
      expect((await fetch(`${b.baseUrl}${url}`)).status, url).toBe(403);
    }
  });

  it('refuses an attachment of another user over the socket with SEND_FAILED', async () => {
    const [owner, member] = (await makeUsers(a.app, 2, 'attws')) as [TestUser, TestUser];
    const roomId = (await createGroup(a.app, owner, { member_ids: [member.id] })).id;
    const uploaded = (await upload(a.app, owner, roomId, { data: Buffer.from('notes'), filename: 'notes.txt' })).json().attachment;
    const client = await connect(b, member);
    client.send({ type: 'message', room_id: roomId, message_type: 'file', attachment_id: uploaded.id, temp_id: 'steal' });
    expect(await client.ofType('error')).toMatchObject({ code: 'SEND_FAILED', temp_id: 'steal' });
  });
});
