import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttachmentView } from '../../src/modules/attachments/attachment.schemas.ts';
import { SWEEP_LOCK_KEY } from '../../src/modules/attachments/attachment.sweeper.ts';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { recentKey } from '../../src/modules/messages/recent-messages.cache.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { makeImage, upload } from '../helpers/attachments.ts';
import { addMember, createGroup, eventually, makeUsers, recordDomainEvents } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

let app: App;
let other: App;
beforeAll(async () => {
  app = await createTestApp();
  other = await createTestApp();
});
afterAll(async () => {
  await app.close();
  await other.close();
});

const post = (user: TestUser, url: string, payload: object) => app.inject({ method: 'POST', url, headers: user.auth, payload });
const get = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });

async function roomOf(count = 3) {
  const [owner, ...members] = (await makeUsers(app, count, 'attmsg')) as [TestUser, ...TestUser[]];
  const room = await createGroup(app, owner, { member_ids: members.map((m) => m.id) });
  return { owner, members, roomId: room.id };
}

async function uploaded(user: TestUser, roomId: number, kind: 'image' | 'file' = 'image'): Promise<AttachmentView> {
  const data = kind === 'image' ? await makeImage('png', 800, 600) : Buffer.from('%PDF-1.4\nreport\n%%EOF\n');
  const res = await upload(app, user, roomId, { data, filename: kind === 'image' ? 'cat.png' : 'report.pdf' });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().attachment;
}

async function sendAttachment(user: TestUser, roomId: number, attachmentId: string, extra: object = {}): Promise<MessageView> {
  const res = await post(user, `/api/messages/${roomId}`, { message_type: 'image', attachment_id: attachmentId, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().message;
}

const filePath = (id: string, suffix = '') => path.join(app.config.UPLOAD_DIR, 'attachments', id.slice(0, 2), `${id}${suffix}`);
const signedFor = (url: string | null | undefined) => new URL(url ?? '', 'http://x').searchParams.get('u');

describe('sending an attachment', () => {
  it('an image message carries its attachment; attachment_url is its url; the upload is noted as sent', async () => {
    const { owner, roomId } = await roomOf();
    const attachment = await uploaded(owner, roomId);
    const message = await sendAttachment(owner, roomId, attachment.id, { content: 'look' });
    expect(message).toMatchObject({ message_type: 'image', content: 'look', attachment: { ...attachment, url: expect.any(String), thumbnail_url: expect.any(String) } });
    expect(message.attachment_url).toBe(message.attachment?.url);
    expect(signedFor(message.attachment?.url)).toBe(String(owner.id));
    expect((await get(message.attachment!.url)).statusCode).toBe(200);
    const row = await app.db.attachment.findUniqueOrThrow({ where: { id: attachment.id } });
    expect(row).toMatchObject({ messageId: message.id, sentAt: expect.any(Date) });
    expect((await app.db.chatMessage.findFirstOrThrow({ where: { roomId } })).attachmentId).toBe(attachment.id);
  });

  it('a file message may send any upload; an image message only an image', async () => {
    const { owner, roomId } = await roomOf();
    const file = await uploaded(owner, roomId, 'file');
    const image = await uploaded(owner, roomId);
    const asImage = await post(owner, `/api/messages/${roomId}`, { message_type: 'image', attachment_id: file.id });
    expect(asImage.statusCode).toBe(400);
    expect((await post(owner, `/api/messages/${roomId}`, { message_type: 'file', attachment_id: file.id })).statusCode).toBe(201);
    expect((await post(owner, `/api/messages/${roomId}`, { message_type: 'file', attachment_id: image.id })).statusCode).toBe(201);
  });

  it("refuses another user's upload (403), another room's (400), a second send (400), an unknown id and wrong combinations (400)", async () => {
    const { owner, members, roomId } = await roomOf();
    const member = members[0]!;
    const second = await createGroup(app, owner, { member_ids: [member.id] });
    const mine = await uploaded(owner, roomId);
    const url = `/api/messages/${roomId}`;
    const expectCode = async (user: TestUser, target: string, body: object, status: number) => {
      const res = await post(user, target, body);
      expect(res.statusCode, `${JSON.stringify(body)}: ${res.body}`).toBe(status);
      expect(res.json().error).toBe(status === 403 ? 'forbidden' : 'validation_error');
    };
    await expectCode(member, url, { message_type: 'image', attachment_id: mine.id }, 403);
    await expectCode(owner, `/api/messages/${second.id}`, { message_type: 'image', attachment_id: mine.id }, 400);
    await expectCode(owner, url, { message_type: 'image', attachment_id: 'f'.repeat(32) }, 400);
    await expectCode(owner, url, { message_type: 'image', attachment_id: '../../etc/passwd' }, 400);
    await expectCode(owner, url, { content: 'text', attachment_id: mine.id }, 400);
    await expectCode(owner, url, { message_type: 'sticker', attachment_id: mine.id }, 400);
    await expectCode(owner, url, { message_type: 'image', attachment_id: mine.id, attachment_url: 'https://cdn.example.com/x.png' }, 400);
    await expectCode(owner, url, { message_type: 'image' }, 400);
    await sendAttachment(owner, roomId, mine.id);
    await expectCode(owner, url, { message_type: 'image', attachment_id: mine.id }, 400);
    await expectCode(owner, url, { message_type: 'image', attachment_id: mine.id, client_message_id: 'another' }, 400);
  });

  it('a resend with the same client_message_id returns the first message (200); a claim its send did not use is given back', async () => {
    const { owner, roomId } = await roomOf();
    const attachment = await uploaded(owner, roomId);
    const first = await sendAttachment(owner, roomId, attachment.id, { client_message_id: 'tmp-1' });
    const again = await post(owner, `/api/messages/${roomId}`, { message_type: 'image', attachment_id: attachment.id, client_message_id: 'tmp-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json().message).toMatchObject({ id: first.id, attachment: { id: attachment.id } });
    // tmp-2 was a text message already: that one comes back and the upload stays unsent.
    await post(owner, `/api/messages/${roomId}`, { content: 'hello', client_message_id: 'tmp-2' });
    const other = await uploaded(owner, roomId);
    const reused = await post(owner, `/api/messages/${roomId}`, { message_type: 'image', attachment_id: other.id, client_message_id: 'tmp-2' });
    expect(reused.statusCode).toBe(200);
    expect(reused.json().message).toMatchObject({ content: 'hello', attachment: null });
    expect((await app.db.attachment.findUniqueOrThrow({ where: { id: other.id } })).sentAt).toBeNull();
    expect((await sendAttachment(owner, roomId, other.id)).attachment?.id).toBe(other.id);
  });

  it('only one of many concurrent sends of one upload succeeds', async () => {
    const { owner, roomId } = await roomOf();
    const attachment = await uploaded(owner, roomId);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post(owner, `/api/messages/${roomId}`, { message_type: 'image', attachment_id: attachment.id, client_message_id: `race-${i}` }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 400, 400, 400, 400, 400, 400, 400]);
  });
});

describe('reading messages with attachments', () => {
  it('every read signs fresh URLs for its reader (history from Redis and from the store, search, room list); Redis keeps none', async () => {
    const { owner, members, roomId } = await roomOf();
    const member = members[0]!;
    const attachment = await uploaded(owner, roomId);
    await sendAttachment(owner, roomId, attachment.id, { content: 'findme' });
    const reads = [
      (await get(`/api/messages/${roomId}?limit=5`, member.auth)).json().messages[0],
      (await get(`/api/messages/${roomId}?limit=5`, member.auth)).json().messages[0],
      (await get(`/api/messages/${roomId}?limit=50`, member.auth)).json().messages[0],
      (await get(`/api/messages/${roomId}/search?q=findme`, member.auth)).json().messages[0],
      (await get(`/api/chat-rooms/${roomId}`, member.auth)).json().room.last_message,
    ] as MessageView[];
    for (const message of reads) {
      expect(message.attachment).toMatchObject({ id: attachment.id, width: 800, height: 600, kind: 'image' });
      expect(signedFor(message.attachment?.url)).toBe(String(member.id));
      expect(signedFor(message.attachment?.thumbnail_url)).toBe(String(member.id));
      expect(message.attachment_url).toBe(message.attachment?.url);
      expect((await get(message.attachment!.thumbnail_url!)).statusCode).toBe(200);
    }
    const cached = await app.redis.lrange(recentKey(roomId), 0, -1);
    expect(cached.length).toBeGreaterThan(0);
    expect(cached.join('')).not.toContain('sig=');
    expect(cached.join('')).toContain(attachment.id);
  });

  it('events carry URLs given to the room, fetchable by anyone in it until someone leaves', async () => {
    const { owner, members, roomId } = await roomOf(4);
    const recorder = await recordDomainEvents(app);
    const attachment = await uploaded(owner, roomId);
    const sent = await sendAttachment(owner, roomId, attachment.id);
    await eventually(() => recorder.events.some((e) => e.type === 'message_created' && e.message.id === sent.id));
    recorder.stop();
    const event = recorder.events.find((e) => e.type === 'message_created' && e.message.id === sent.id);
    const roomUrl = event?.type === 'message_created' ? event.message.attachment?.url : undefined;
    expect(roomUrl).toMatch(/\?t=\d+&exp=\d+&sig=/);
    expect((await get(roomUrl!)).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await app.inject({ method: 'POST', url: `/api/group-rooms/${roomId}/leave`, headers: members[2]!.auth });
    expect((await get(roomUrl!)).statusCode).toBe(403);
    // Readers get fresh links, which work.
    const fresh = (await get(`/api/messages/${roomId}`, members[0]!.auth)).json().messages[0] as MessageView;
    expect((await get(fresh.attachment!.url)).statusCode).toBe(200);
  });
});

describe('access', () => {
  it("a removed member's signed URLs and token are refused at once; others keep theirs", async () => {
    const { owner, members, roomId } = await roomOf(3);
    const [kept, removed] = members as [TestUser, TestUser];
    const attachment = await uploaded(owner, roomId);
    await sendAttachment(owner, roomId, attachment.id);
    const history = (user: TestUser) => get(`/api/messages/${roomId}`, user.auth).then((r) => r.json().messages[0] as MessageView);
    const removedCopy = await history(removed);
    const keptCopy = await history(kept);
    expect((await get(removedCopy.attachment!.url)).statusCode).toBe(200);
    expect((await get(`/api/attachments/${attachment.id}`, removed.auth)).statusCode).toBe(200);
    const res = await app.inject({ method: 'DELETE', url: `/api/group-rooms/${roomId}/members/${removed.id}`, headers: owner.auth });
    expect(res.statusCode).toBe(204);
    for (const url of [removedCopy.attachment!.url, removedCopy.attachment!.thumbnail_url!]) {
      const refused = await get(url);
      expect(refused.statusCode, url).toBe(403);
      expect(refused.json().error).toBe('forbidden');
    }
    expect((await get(`/api/attachments/${attachment.id}`, removed.auth)).statusCode).toBe(403);
    expect((await other.inject({ url: removedCopy.attachment!.url })).statusCode).toBe(403);
    expect((await get(keptCopy.attachment!.url)).statusCode).toBe(200);
    expect((await upload(app, removed, roomId, { data: Buffer.from('x') })).statusCode).toBe(403);
  });

  it('refuses tampered, incomplete and expired links (403) and requests with neither a link nor a token (401)', async () => {
    const { owner, members, roomId } = await roomOf(2);
    const attachment = await uploaded(owner, roomId);
    const url = new URL(attachment.url, 'http://x');
    const variant = (change: (params: URLSearchParams) => void, pathname = url.pathname) => {
      const params = new URLSearchParams(url.search);
      change(params);
      return `${pathname}?${params}`;
    };
    for (const tampered of [
      variant((p) => p.set('u', String(members[0]!.id))),
      variant((p) => p.set('exp', String(Number(p.get('exp')) + 10))),
      variant((p) => p.set('sig', 'A'.repeat(22))),
      variant((p) => p.delete('exp')),
      variant((p) => p.set('t', '1')),
      variant(() => {}, `${url.pathname}/thumbnail`),
    ]) {
      const res = await get(tampered);
      expect(res.statusCode, tampered).toBe(403);
      expect(res.json().error).toBe('forbidden');
    }
    const expired = app.attachments.urls.sign(attachment.id, 'file', { kind: 'user', userId: owner.id }, Date.now() - 3601_000);
    expect((await get(expired)).statusCode).toBe(403);
    expect((await get(`/api/attachments/${attachment.id}`)).statusCode).toBe(401);
    expect((await get(`/api/attachments/${attachment.id}`, owner.auth)).statusCode).toBe(200);
    const [outsider] = await makeUsers(app, 1, 'attmsg');
    expect((await get(`/api/attachments/${attachment.id}`, outsider!.auth)).statusCode).toBe(403);
    expect((await get(`/api/attachments/${attachment.id}`, members[0]!.auth)).statusCode).toBe(200);
    expect((await get(`/api/attachments/${'0'.repeat(32)}`, owner.auth)).statusCode).toBe(404);
    expect((await get('/api/attachments/..%2f..%2fetc%2fpasswd', owner.auth)).statusCode).toBe(404);
    // An unchanged file is not sent again, but the check still runs.
    const first = await get(attachment.url);
    const again = await get(attachment.url, { 'if-none-match': String(first.headers.etag) });
    expect(again.statusCode).toBe(304);
    expect((await get(`/api/attachments/${attachment.id}`, { ...outsider!.auth, 'if-none-match': String(first.headers.etag) })).statusCode).toBe(403);
  });

  it('never serves attachments as public files under /uploads/', async () => {
    const { owner, roomId } = await roomOf(1);
    const attachment = await uploaded(owner, roomId);
    for (const url of [`/uploads/attachments/${attachment.id.slice(0, 2)}/${attachment.id}`, `/uploads/avatars/../attachments/${attachment.id.slice(0, 2)}/${attachment.id}`]) {
      expect((await get(url)).statusCode, url).toBe(404);
    }
  });
});

describe('clean-up', () => {
  it('deleting the message makes its URLs 404 and removes the files and the row', async () => {
    const { owner, members, roomId } = await roomOf(2);
    const attachment = await uploaded(owner, roomId);
    const message = await sendAttachment(owner, roomId, attachment.id);
    expect(existsSync(filePath(attachment.id))).toBe(true);
    expect((await app.inject({ method: 'DELETE', url: `/api/messages/${roomId}/${message.id}`, headers: owner.auth })).statusCode).toBe(204);
    for (const url of [message.attachment!.url, message.attachment!.thumbnail_url!]) expect((await get(url)).statusCode).toBe(404);
    expect(existsSync(filePath(attachment.id))).toBe(false);
    expect(existsSync(filePath(attachment.id, '.thumb.webp'))).toBe(false);
    expect(await app.db.attachment.findUnique({ where: { id: attachment.id } })).toBeNull();
    const shown = (await get(`/api/messages/${roomId}`, members[0]!.auth)).json().messages[0] as MessageView;
    expect(shown).toMatchObject({ id: message.id, is_deleted: true, attachment: null, attachment_url: null });
  });

  it('deleting the room makes its URLs 404 and removes every file of it, sent or not', async () => {
    const { owner, roomId } = await roomOf(2);
    const sent = await uploaded(owner, roomId);
    const unsent = await uploaded(owner, roomId, 'file');
    const message = await sendAttachment(owner, roomId, sent.id);
    expect((await app.inject({ method: 'DELETE', url: `/api/group-rooms/${roomId}`, headers: owner.auth })).statusCode).toBe(204);
    for (const url of [message.attachment!.url, message.attachment!.thumbnail_url!, unsent.url]) expect((await get(url)).statusCode).toBe(404);
    for (const id of [sent.id, unsent.id]) expect(existsSync(filePath(id))).toBe(false);
    expect(await app.db.attachment.count({ where: { roomId } })).toBe(0);
  });

  it('the sweep removes uploads never sent within 24 h (files and rows), and finishes deletions left half done', async () => {
    const { owner, roomId } = await roomOf(1);
    const [stale, fresh, sentOld, halfDeleted] = [await uploaded(owner, roomId), await uploaded(owner, roomId), await uploaded(owner, roomId), await uploaded(owner, roomId, 'file')];
    await sendAttachment(owner, roomId, sentOld.id);
    const dayAgo = new Date(Date.now() - 24 * 3600_000 - 60_000);
    await app.db.attachment.updateMany({ where: { id: { in: [stale.id, sentOld.id] } }, data: { createdAt: dayAgo } });
    await app.db.attachment.update({ where: { id: halfDeleted.id }, data: { deletedAt: new Date(Date.now() - 11 * 60_000) } });
    const result = await app.attachments.sweeper.runOnce();
    expect(result?.unsent).toBeGreaterThanOrEqual(1);
    expect(result?.finished).toBeGreaterThanOrEqual(1);
    for (const gone of [stale, halfDeleted]) {
      expect(await app.db.attachment.findUnique({ where: { id: gone.id } })).toBeNull();
      expect(existsSync(filePath(gone.id))).toBe(false);
    }
    expect(existsSync(filePath(stale.id, '.thumb.webp'))).toBe(false);
    expect((await get(stale.url)).statusCode).toBe(404);
    for (const kept of [fresh, sentOld]) {
      expect(await app.db.attachment.findUnique({ where: { id: kept.id } })).not.toBeNull();
      expect(existsSync(filePath(kept.id))).toBe(true);
    }
  });

  it('runs on one instance at a time (a Redis lock with an expiry)', async () => {
    const [first, second] = await Promise.all([app.attachments.sweeper.runOnce(), other.attachments.sweeper.runOnce()]);
    expect([first, second].filter((result) => result === null)).toHaveLength(1);
    await app.redis.set(SWEEP_LOCK_KEY, 'someone else', 'PX', 60_000);
    expect(await other.attachments.sweeper.runOnce()).toBeNull();
    expect(await app.redis.pttl(SWEEP_LOCK_KEY)).toBeGreaterThan(0);
    await app.redis.del(SWEEP_LOCK_KEY);
    expect(await other.attachments.sweeper.runOnce()).not.toBeNull();
    expect(await app.redis.exists(SWEEP_LOCK_KEY)).toBe(0);
  });
});

it('group admins can add members who then read the attachments', async () => {
  const { owner, roomId } = await roomOf(1);
  const [late] = await makeUsers(app, 1, 'attmsg');
  const attachment = await uploaded(owner, roomId);
  await sendAttachment(owner, roomId, attachment.id);
  expect((await get(`/api/attachments/${attachment.id}`, late!.auth)).statusCode).toBe(403);
  await addMember(app, owner, roomId, late!);
  const shown = (await get(`/api/messages/${roomId}`, late!.auth)).json().messages[0] as MessageView;
  expect((await get(shown.attachment!.url)).statusCode).toBe(200);
});
