import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { createGroup, makeUsers, send } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

/**
 * Per-room order (contract: Messages, `seq`): two instances on one database, three senders
 * sending 100 messages each at once, half through each instance, over real HTTP.
 */
describe('message seq across two instances', () => {
  let a: { app: App; baseUrl: string };
  let b: { app: App; baseUrl: string };

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  });
  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
  });

  async function post(baseUrl: string, user: TestUser, roomId: number, content: string): Promise<MessageView> {
    const res = await fetch(`${baseUrl}/api/messages/${roomId}`, {
      method: 'POST',
      headers: { ...user.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { message: MessageView }).message;
  }

  async function historyPages(user: TestUser, roomId: number, limit: number): Promise<MessageView[][]> {
    const pages: MessageView[][] = [];
    let cursor: string | null = null;
    do {
      const query = `?limit=${limit}${cursor ? `&before=${cursor}` : ''}`;
      const res = await b.app.inject({ method: 'GET', url: `/api/messages/${roomId}${query}`, headers: user.auth });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { messages: MessageView[]; next_cursor: string | null };
      pages.push(page.messages);
      cursor = page.next_cursor;
    } while (cursor);
    return pages;
  }

  it('3 senders x 100 concurrent messages through two instances get seq 1-300, and history follows seq', async () => {
    const [owner, second, third] = await makeUsers(a.app, 3, 'seq');
    const room = await createGroup(a.app, owner!, { name: 'seq', member_ids: [second!.id, third!.id] });
    const senders = [owner!, second!, third!];

    const sent = await Promise.all(
      senders.flatMap((user, s) =>
        Array.from({ length: 100 }, (_, i) => post(i % 2 === 0 ? a.baseUrl : b.baseUrl, user, room.id, `sender ${s} message ${i}`)),
      ),
    );

    const seqs = sent.map((message) => message.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));

    // History pages (from the store, and the cached first page) are newest seq first, with no gap.
    const pages = await historyPages(owner!, room.id, 37);
    const walked = pages.flat().map((message) => message.seq);
    expect(walked).toEqual(Array.from({ length: 300 }, (_, i) => 300 - i));
    const cached = await historyPages(second!, room.id, 20);
    expect(cached.flat().map((message) => message.seq)).toEqual(walked);

    // Each sender's own messages keep the order in which each instance stored them: ids map to one seq.
    const bySeq = new Map(sent.map((message) => [message.seq, message.id]));
    for (const message of pages.flat()) expect(bySeq.get(message.seq)).toBe(message.id);
  });

  it('read pointers and unread counts follow seq', async () => {
    const [owner, reader] = await makeUsers(a.app, 2, 'seqread');
    const room = await createGroup(a.app, owner!, { name: 'seq reads', member_ids: [reader!.id] });
    const messages: MessageView[] = [];
    for (let i = 0; i < 5; i += 1) messages.push(await send(a.app, owner!, room.id, `m${i}`));

    const read = async (app: App, message: MessageView) => {
      const res = await app.inject({
        method: 'POST',
        url: `/api/messages/${room.id}/read`,
        headers: reader!.auth,
        payload: { message_id: message.id },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { last_read_message_id: string; unread_count: number };
    };
    expect(await read(a.app, messages[2]!)).toMatchObject({ last_read_message_id: messages[2]!.id, unread_count: 2 });
    // Never backwards, whichever instance is asked.
    expect(await read(b.app, messages[0]!)).toMatchObject({ last_read_message_id: messages[2]!.id, unread_count: 2 });
    // Concurrent receipts end at the furthest one.
    const results = await Promise.all(messages.map((message, i) => read(i % 2 ? a.app : b.app, message)));
    expect(results.some((result) => result.last_read_message_id === messages[4]!.id)).toBe(true);
    const list = await b.app.inject({ method: 'GET', url: `/api/chat-rooms/${room.id}`, headers: reader!.auth });
    expect(list.json().room.unread_count).toBe(0);
  });
});
