import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createTestApp } from '../helpers/app.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

let app: App;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  app = await createTestApp();
  alice = await createUser(app, { displayName: 'Alice' });
  bob = await createUser(app, { displayName: 'Bob' });
});
afterAll(async () => app.close());

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 2)]);
const GIF = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(64, 3)]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x40, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(64, 4)]);

function multipart(field: string, fileName: string, contentType: string, bytes: Buffer) {
  const boundary = `----bigtech${Math.random().toString(16).slice(2)}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${fileName}"\r\nContent-Type: ${contentType}\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

function upload(user: TestUser, body: ReturnType<typeof multipart>) {
  return app.inject({ method: 'POST', url: '/api/profile/me/image', headers: { ...user.auth, ...body.headers }, payload: body.payload });
}

describe('GET /api/profile/me and /:user_id', () => {
  it('returns my profile with my email', async () => {
    const res = await app.inject({ url: '/api/profile/me', headers: alice.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ id: alice.id, email: alice.email, display_name: 'Alice' });
  });

  it("shows another user's profile without their email to a stranger", async () => {
    const res = await app.inject({ url: `/api/profile/${bob.id}`, headers: alice.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ id: bob.id, username: bob.username, email: null });
  });

  it('shows the email to friends', async () => {
    const [lo, hi] = alice.id < bob.id ? [alice.id, bob.id] : [bob.id, alice.id];
    const friendship = await app.db.friendship.create({
      data: { requesterId: alice.id, addresseeId: bob.id, userLowId: lo, userHighId: hi, status: 'accepted' },
    });
    const res = await app.inject({ url: `/api/profile/${bob.id}`, headers: alice.auth });
    expect(res.json().user.email).toBe(bob.email);
    await app.db.friendship.delete({ where: { id: friendship.id } });
  });

  it('is 404 for unknown, inactive and blocked users (either way)', async () => {
    expect((await app.inject({ url: '/api/profile/999999999', headers: alice.auth })).statusCode).toBe(404);
    const inactive = await createUser(app);
    await app.db.user.update({ where: { id: inactive.id }, data: { isActive: false } });
    expect((await app.inject({ url: `/api/profile/${inactive.id}`, headers: alice.auth })).statusCode).toBe(404);

    const carol = await createUser(app);
    await app.db.blockUser.create({ data: { blockerId: carol.id, blockedId: alice.id } });
    const blockedByThem = await app.inject({ url: `/api/profile/${carol.id}`, headers: alice.auth });
    const blockedByMe = await app.inject({ url: `/api/profile/${alice.id}`, headers: carol.auth });
    for (const res of [blockedByThem, blockedByMe]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toBe('not_found');
    }
  });

  it('is 400 for a non-numeric id and 401 without a token', async () => {
    const bad = await app.inject({ url: '/api/profile/abc', headers: alice.auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('validation_error');
    expect((await app.inject({ url: `/api/profile/${bob.id}` })).statusCode).toBe(401);
  });
});

describe('PUT /api/profile/me', () => {
  it('updates display name and status message, Korean and emoji intact', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/profile/me',
      headers: alice.auth,
      payload: { display_name: '앨리스 🐰', status_message: '오늘도 화이팅 💪' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ display_name: '앨리스 🐰', status_message: '오늘도 화이팅 💪' });
    const me = await app.inject({ url: '/api/profile/me', headers: alice.auth });
    expect(me.json().user.display_name).toBe('앨리스 🐰');
  });

  it.each([
    ['too long a display name', { display_name: 'x'.repeat(101) }],
    ['too long a status', { status_message: 'x'.repeat(201) }],
    ['an unknown field', { email: 'new@example.com' }],
    ['a wrong type', { display_name: 42 }],
  ])('rejects %s with 400', async (_name, payload) => {
    const res = await app.inject({ method: 'PUT', url: '/api/profile/me', headers: alice.auth, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('validation_error');
  });
});

describe('avatar upload', () => {
  it.each([
    ['PNG', PNG, 'png'],
    ['JPEG', JPEG, 'jpg'],
    ['GIF', GIF, 'gif'],
    ['WebP', WEBP, 'webp'],
  ])('accepts a %s judged by content, whatever its name, and serves it from /uploads/', async (_kind, bytes, extension) => {
    const res = await upload(alice, multipart('image', 'picture.txt', 'application/octet-stream', bytes));
    expect(res.statusCode).toBe(200);
    const url: string = res.json().user.profile_image_url;
    expect(url).toMatch(new RegExp(`^/uploads/avatars/${alice.id}-[\\w-]+\\.${extension}$`));
    const served = await app.inject({ url });
    expect(served.statusCode).toBe(200);
    expect(served.rawPayload.equals(bytes)).toBe(true);
  });

  it('replacing an avatar removes the old file', async () => {
    const first = (await upload(bob, multipart('image', 'a.png', 'image/png', PNG))).json().user.profile_image_url;
    const second = (await upload(bob, multipart('image', 'b.gif', 'image/gif', GIF))).json().user.profile_image_url;
    expect(second).not.toBe(first);
    expect((await app.inject({ url: first })).statusCode).toBe(404);
    expect((await app.inject({ url: second })).statusCode).toBe(200);
  });

  it('refuses a file that is not an image with 415, even when named .png', async () => {
    const res = await upload(alice, multipart('image', 'evil.png', 'image/png', Buffer.from('<script>alert(1)</script>')));
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toBe('unsupported_media_type');
  });

  it('refuses more than 5 MB with 413', async () => {
    const big = Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024 + 1)]);
    const res = await upload(alice, multipart('image', 'big.png', 'image/png', big));
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('payload_too_large');
  });

  it('refuses a wrong field name or an empty file with 400, and a JSON body with 415', async () => {
    expect((await upload(alice, multipart('avatar', 'a.png', 'image/png', PNG))).statusCode).toBe(400);
    expect((await upload(alice, multipart('image', 'a.png', 'image/png', Buffer.alloc(0)))).statusCode).toBe(400);
    const json = await app.inject({ method: 'POST', url: '/api/profile/me/image', headers: alice.auth, payload: { image: 'x' } });
    expect(json.statusCode).toBe(415);
  });

  it('requires a token', async () => {
    const body = multipart('image', 'a.png', 'image/png', PNG);
    const res = await app.inject({ method: 'POST', url: '/api/profile/me/image', headers: body.headers, payload: body.payload });
    expect(res.statusCode).toBe(401);
  });

  it('DELETE removes the avatar and its file, and is 204 again when there is none', async () => {
    const carol = await createUser(app);
    const url: string = (await upload(carol, multipart('image', 'c.png', 'image/png', PNG))).json().user.profile_image_url;
    const filePath = path.join(app.config.UPLOAD_DIR, url.replace(/^\/uploads\//, ''));
    expect(existsSync(filePath)).toBe(true);
    const res = await app.inject({ method: 'DELETE', url: '/api/profile/me/image', headers: carol.auth });
    expect(res.statusCode).toBe(204);
    expect(existsSync(filePath)).toBe(false);
    expect((await app.inject({ url: '/api/profile/me', headers: carol.auth })).json().user.profile_image_url).toBeNull();
    expect((await app.inject({ method: 'DELETE', url: '/api/profile/me/image', headers: carol.auth })).statusCode).toBe(204);
  });
});
