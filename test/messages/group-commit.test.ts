import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';

/**
 * Group commit (MessageService → GroupCommit → MessageStore.createMany) seen from outside: two
 * instances on one database, real HTTP and WebSocket, bursts that share transactions.
 */
describe('group commit of sends', () => {
  let a: { app: App; baseUrl: string };
  let b: { app: App; baseUrl: string };

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  });
  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
  });

  async function post(baseUrl: string, user: TestUser, roomId: number, body: Record<string, unknown>) {
    const res = await fetch(`${baseUrl}/api/messages/${roomId}`, {
      method: 'POST',
      headers: { ...user.auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { message: MessageView } & { error?: string } };
  }

  /** The message as MySQL holds it right now (null when it is not stored). */
  const stored = (id: string) => a.app.db.chatMessage.findUnique({ where: { id: BigInt(id) } });

  it('concurrent sends over two instances, each client_message_id sent twice: one message each, gapless seq, every answer already stored', async () => {
    const [owner, second] = await makeUsers(a.app, 2, 'gcpair');
    const room = await createGroup(a.app, owner!, { name: 'group commit', member_ids: [second!.id] });
    const ids = Array.from({ length: 30 }, () => randomUUID());
    const answers = await Promise.all(
      ids.flatMap((clientId, i) => {
        const user = i % 2 ? owner! : second!;
        // The two copies go through both instances at once: within one batch, or racing another instance's batch.
        return [a.baseUrl, b.baseUrl].map(async (baseUrl) => {
          const answer = await post(baseUrl, user, room.id, { content: `m${i}`, client_message_id: clientId });
          // Acknowledged only once durable: the row is there the moment the answer is.
          expect(await stored(answer.body.message.id)).not.toBeNull();
          return answer;
        });
      }),
    );
    for (let i = 0; i < ids.length; i += 1) {
      const [first, second] = [answers[2 * i]!, answers[2 * i + 1]!];
      expect(first.body.message.id).toBe(second.body.message.id);
      expect([first.status, second.status].sort()).toEqual([200, 201]);
    }
    const seqs = answers.filter((answer) => answer.status === 201).map((answer) => answer.body.message.seq);
    expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await a.app.db.chatMessage.count({ where: { roomId: room.id } })).toBe(30);
  });

  it('a resend of a message stored earlier, inside a burst, gives the first message and takes no seq', async () => {
    const [owner] = await makeUsers(a.app, 1, 'gcresend');
    const room = await createGroup(a.app, owner!, { name: 'resend in burst', member_ids: [] });
    const first = await post(a.baseUrl, owner!, room.id, { content: 'first', client_message_id: 'resend-me' });
    expect(first.status).toBe(201);
    const burst = await Promise.all([
      post(a.baseUrl, owner!, room.id, { content: 'x1' }),
      post(a.baseUrl, owner!, room.id, { content: 'again', client_message_id: 'resend-me' }),
      post(a.baseUrl, owner!, room.id, { content: 'x2' }),
    ]);
    expect(burst.map((answer) => answer.status)).toEqual([201, 200, 201]);
    expect(burst[1]!.body.message).toMatchObject({ id: first.body.message.id, content: 'first', seq: 1 });
    expect(burst.filter((answer) => answer.status === 201).map((answer) => answer.body.message.seq).sort()).toEqual([2, 3]);
  });

  it('a bad message in a burst fails alone; the others of the burst are stored', async () => {
    const [owner] = await makeUsers(a.app, 1, 'gcbad');
    const room = await createGroup(a.app, owner!, { name: 'bad in burst', member_ids: [] });
    const burst = await Promise.all([
      post(a.baseUrl, owner!, room.id, { content: 'ok 1' }),
      post(a.baseUrl, owner!, room.id, { content: 'reply', reply_to: '999999999' }),
      post(a.baseUrl, owner!, room.id, { content: 'ok 2' }),
      post(a.baseUrl, owner!, room.id, { content: '   ' }),
      post(a.baseUrl, owner!, room.id, { content: 'ok 3' }),
    ]);
    expect(burst.map((answer) => answer.status)).toEqual([201, 400, 201, 400, 201]);
    expect(burst.filter((answer) => answer.status === 201).map((answer) => answer.body.message.seq).sort()).toEqual([1, 2, 3]);
  });

  it('WebSocket: a burst of frames is acked each after its message is stored, and every member on both instances gets each once', async () => {
    const [owner, second] = await makeUsers(a.app, 2, 'gcws');
    const room = await createGroup(a.app, owner!, { name: 'ws burst', member_ids: [second!.id] });
    const sender = await WsClient.connect(a.baseUrl, owner!.token, `/ws/chat/${room.id}`);
    const listener = await WsClient.connect(b.baseUrl, second!.token, `/ws/chat/${room.id}`);
    try {
      await Promise.all([sender.ofType('joined'), listener.ofType('joined')]);
      const tempIds = Array.from({ length: 25 }, (_, i) => `burst-${i}`);
      for (const [i, tempId] of tempIds.entries()) sender.send({ type: 'message', room_id: room.id, content: `w${i}`, temp_id: tempId });
      // One frame repeated: acked with the same message.
      sender.send({ type: 'message', room_id: room.id, content: 'w0 again', temp_id: tempIds[0] });
      const acks: Frame[] = [];
      for (let i = 0; i < tempIds.length + 1; i += 1) {
        const ack = await sender.ofType('ack', 5000);
        expect(await stored((ack.message as MessageView).id)).not.toBeNull();
        acks.push(ack);
      }
      const byTemp = new Map<string, string>();
      for (const ack of acks) {
        const id = (ack.message as MessageView).id;
        const known = byTemp.get(ack.temp_id as string);
        if (known) expect(known).toBe(id);
        byTemp.set(ack.temp_id as string, id);
      }
      expect(byTemp.size).toBe(25);
      const delivered: MessageView[] = [];
      for (let i = 0; i < 25; i += 1) delivered.push((await listener.ofType('message', 5000)).message as MessageView);
      expect(delivered.map((message) => message.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(await listener.none((frame) => frame.type === 'message')).toBe(true);
    } finally {
      sender.socket.close();
      listener.socket.close();
    }
  });
});
