import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DomainEvent } from '../../src/lib/domain-events.ts';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { type App, createTestApp, startTestServer } from '../helpers/app.ts';
import { sleep, type TcpProxy, waitUntil } from '../helpers/faults.ts';
import { proxiedDatabase } from '../helpers/instance-pair.ts';
import { createGroup, recordDomainEvents, send } from '../helpers/rooms.ts';
import { answerRequest, befriend, blockUser, createUsers, pairRows, sendRequest } from '../helpers/social.ts';
import type { TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * The races found in review, each reproduced by doing the racing things at once, many times,
 * against the real database and Redis (two app instances where the race crosses processes).
 */

let app: App;
let other: App;
beforeAll(async () => {
  [app, other] = await Promise.all([createTestApp(), createTestApp()]);
});
afterAll(async () => {
  await app?.close();
  await other?.close();
});

const messageEvents = (events: DomainEvent[], messageId: string): MessageView[] =>
  events.flatMap((event) =>
    (event.type === 'message_updated' || event.type === 'reaction_changed' || event.type === 'message_deleted') && event.message.id === messageId
      ? [event.message]
      : [],
  );

/** The message as history shows it now (straight from the store). */
async function stored(roomId: number, messageId: string): Promise<MessageView> {
  const res = await app.inject({ url: `/api/messages/${roomId}?limit=100`, headers: (await owner()).auth });
  const found = (res.json().messages as MessageView[]).find((m) => m.id === messageId);
  if (!found) throw new Error(`message ${messageId} not in history`);
  return found;
}

let roomOwner: TestUser | undefined;
let members: TestUser[] = [];
let sharedRoomId = 0;
async function owner(): Promise<TestUser> {
  if (!roomOwner) {
    const users = await createUsers(app, 6, { prefix: 'race' });
    roomOwner = users[0];
    members = users.slice(1);
    for (const member of members) await befriend(app, roomOwner, member);
    sharedRoomId = (await createGroup(app, roomOwner, { name: 'races', member_ids: members.map((m) => m.id) })).id;
  }
  return roomOwner;
}

const react = (by: App, user: TestUser, roomId: number, messageId: string, reaction = 'like') =>
  by.inject({ method: 'POST', url: `/api/messages/${roomId}/${messageId}/reactions`, headers: user.auth, payload: { reaction } });

describe('concurrent reaction toggles (MySQL deadlocked: 500)', () => {
  it('30 rounds of parallel toggles: all 200, distinct increasing versions, final state = parity of toggles', async () => {
    const author = await owner();
    const roomId = sharedRoomId;
    const statuses = new Map<number, number>();
    for (let round = 0; round < 30; round += 1) {
      const message = await send(app, author, roomId, `react ${round}`);
      expect(message.version).toBe(1);
      // Every member toggles "like" twice and "love" once, all at once, over both instances.
      const toggles = members.flatMap((member, i) => [
        { user: member, reaction: 'like', by: i % 2 ? app : other },
        { user: member, reaction: 'like', by: i % 2 ? other : app },
        { user: member, reaction: 'love', by: app },
      ]);
      const answers = await Promise.all(toggles.map((t) => react(t.by, t.user, roomId, message.id, t.reaction)));
      for (const answer of answers) statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
      const bad = answers.filter((a) => a.statusCode !== 200);
      expect(bad.map((a) => `${a.statusCode} ${a.body}`), `round ${round}`).toEqual([]);
      const versions = answers.map((a) => (a.json().message as MessageView).version);
      expect(new Set(versions).size, `round ${round}: versions ${versions.join(',')}`).toBe(toggles.length);
      expect(Math.min(...versions)).toBe(2);
      expect(Math.max(...versions)).toBe(1 + toggles.length);
      const final = await stored(roomId, message.id);
      expect(final.version).toBe(1 + toggles.length);
      // "like" twice is back to nothing; "love" once stays.
      expect(final.reactions).toEqual({ love: members.map((m) => m.id).sort((a, b) => a - b) });
      const newest = answers.map((a) => a.json().message as MessageView).find((m) => m.version === final.version);
      expect(newest).toEqual(final);
    }
    console.log(`parallel reaction toggles: ${JSON.stringify(Object.fromEntries(statuses))}`);
  }, 120_000);
});

describe('versions order out-of-order snapshots', () => {
  it('concurrent edits and reactions: distinct versions, and the newest event is the final state', async () => {
    const author = await owner();
    const roomId = sharedRoomId;
    const recorder = await recordDomainEvents(app);
    try {
      const message = await send(app, author, roomId, 'version me');
      const edits = Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? other : app).inject({
          method: 'PUT',
          url: `/api/messages/${roomId}/${message.id}`,
          headers: author.auth,
          payload: { content: `edit ${i}` },
        }),
      );
      const reactions = members.map((member, i) => react(i % 2 ? app : other, member, roomId, message.id, 'laugh'));
      const answers = await Promise.all([...edits, ...reactions]);
      expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200));
      const versions = answers.map((a) => (a.json().message as MessageView).version);
      expect(new Set(versions).size).toBe(answers.length);
      expect([...versions].sort((a, b) => a - b)).toEqual(answers.map((_, i) => i + 2));

      const final = await stored(roomId, message.id);
      expect(final.version).toBe(1 + answers.length);
      await waitUntil(() => expect(messageEvents(recorder.events, message.id)).toHaveLength(answers.length), 5000);
      const events = messageEvents(recorder.events, message.id);
      expect(new Set(events.map((m) => m.version)).size).toBe(events.length);
      const newest = events.reduce((a, b) => (b.version > a.version ? b : a));
      // A client that keeps the highest version ends with what is stored, in whatever order events came.
      expect(newest).toEqual(final);

      const deleted = await app.inject({ method: 'DELETE', url: `/api/messages/${roomId}/${message.id}`, headers: author.auth });
      expect(deleted.statusCode).toBe(204);
      const gone = await stored(roomId, message.id);
      expect(gone).toMatchObject({ is_deleted: true, version: final.version + 1 });
      await waitUntil(() => expect(messageEvents(recorder.events, message.id).some((m) => m.is_deleted)).toBe(true), 5000);
      expect(messageEvents(recorder.events, message.id).find((m) => m.is_deleted)).toEqual(gone);
    } finally {
      recorder.stop();
    }
  });
});

describe('a friend request racing a block', () => {
  it('never leaves a pending or accepted friendship next to a block (60 rounds, both instances)', async () => {
    const survivors: string[] = [];
    const statuses: Record<string, number> = {};
    for (let round = 0; round < 60; round += 1) {
      const [alice, bob] = await createUsers(app, 2, { prefix: 'rvb' });
      const variant = round % 3;
      // 0: bob asks while alice blocks; 1: bob had asked, alice "requests" (accepts) while bob blocks;
      // 2: bob asks while bob blocks alice (his own block must win too).
      if (variant === 1) expect((await sendRequest(app, bob, alice.id)).statusCode).toBe(201);
      const jitter = round % 4;
      const request =
        variant === 1
          ? sleep(jitter).then(() => sendRequest(other, alice, bob.id))
          : sleep(jitter).then(() => sendRequest(other, bob, alice.id));
      const blocking = variant === 0 ? blockUser(app, alice, bob.id) : blockUser(app, bob, alice.id);
      const [requested, blocked] = await Promise.all([request, blocking]);
      const key = `${requested.statusCode}/${blocked.statusCode}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      expect(blocked.statusCode, blocked.body).toBe(201);
      expect([200, 201, 404], requested.body).toContain(requested.statusCode);
      const rows = await pairRows(app, alice.id, bob.id);
      if (rows.length > 0) survivors.push(`round ${round} (variant ${variant}): ${rows.map((r) => r.status).join(',')}`);
    }
    console.log(`request vs block: ${JSON.stringify(statuses)}`);
    expect(survivors).toEqual([]);
  }, 120_000);

  it('accepting a request while the requester blocks leaves no friendship', async () => {
    const survivors: string[] = [];
    for (let round = 0; round < 30; round += 1) {
      const [alice, bob] = await createUsers(app, 2, { prefix: 'avb' });
      expect((await sendRequest(app, bob, alice.id)).statusCode).toBe(201);
      const [, blocked] = await Promise.all([
        sleep(round % 3).then(() => answerRequest(other, alice, bob.id, 'accept')),
        blockUser(app, bob, alice.id),
      ]);
      expect(blocked.statusCode).toBe(201);
      const rows = await pairRows(app, alice.id, bob.id);
      if (rows.length > 0) survivors.push(`round ${round}: ${rows.map((r) => r.status).join(',')}`);
    }
    expect(survivors).toEqual([]);
  }, 60_000);
});

describe('a WebSocket closing while its join awaits', () => {
  let proxy: TcpProxy;
  let slow: { app: App; baseUrl: string };
  beforeAll(async () => {
    const db = await proxiedDatabase();
    proxy = db.proxy;
    // Upkeep renews room leases every 300 ms: a dead connection left in the registry stays "active".
    slow = await startTestServer({ DATABASE_URL: db.databaseUrl, PRESENCE_TTL_S: '1' });
  });
  afterAll(async () => {
    await slow?.app.close();
    await proxy?.close();
  });

  it('leaves nothing in the room: the room goes idle and nobody is connected', async () => {
    const [alice, bob] = await createUsers(app, 2, { prefix: 'joinclose' });
    await befriend(app, alice, bob);
    const leaks: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      // A room the slow instance has never seen: its membership lookup must go to MySQL.
      const room = await createGroup(app, alice, { name: `join close ${round}`, member_ids: [bob.id] });
      proxy.replyDelayMs = 150;
      try {
        const client = await WsClient.connect(slow.baseUrl, bob.token);
        client.send({ type: 'join', room_id: room.id });
        await sleep(20);
        client.socket.terminate();
        await client.closed;
        // Past the join's lookups and a few lease renewals.
        await sleep(1200);
      } finally {
        proxy.replyDelayMs = 0;
      }
      const status = await app.inject({ url: `/api/ws/rooms/${room.id}/status`, headers: alice.auth });
      expect(status.statusCode).toBe(200);
      const body = status.json() as { state: string; online_user_ids: number[] };
      if (body.state === 'active' || body.online_user_ids.length > 0) leaks.push(`round ${round}: ${JSON.stringify(body)}`);
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  it('a join that completes normally still joins (control)', async () => {
    const [alice, bob] = await createUsers(app, 2, { prefix: 'joinok' });
    await befriend(app, alice, bob);
    const room = await createGroup(app, alice, { name: 'join ok', member_ids: [bob.id] });
    const client = await WsClient.connect(slow.baseUrl, bob.token);
    try {
      client.send({ type: 'join', room_id: room.id });
      expect(await client.ofType('joined', 5000)).toMatchObject({ room_id: room.id, online_user_ids: [bob.id] });
      const status = (await app.inject({ url: `/api/ws/rooms/${room.id}/status`, headers: alice.auth })).json();
      expect(status).toMatchObject({ state: 'active', online_user_ids: [bob.id] });
    } finally {
      client.close();
    }
  });
});
