import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { parse as parseDisposition } from 'content-disposition';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { type ImageFormat, makeImage, multipartBody, upload } from '../helpers/attachments.ts';
import { contractBreach } from '../helpers/fuzz.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

let server: { app: App; baseUrl: string };
let app: App;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let roomId: number;

beforeAll(async () => {
  server = await startTestServer({ ATTACHMENT_MAX_BYTES: String(2 * 1024 * 1024) });
  app = server.app;
  [owner, member, outsider] = (await makeUsers(app, 3, 'att')) as [TestUser, TestUser, TestUser];
  roomId = (await createGroup(app, owner, { member_ids: [member.id] })).id;
});
afterAll(async () => app.close());

const fetchAs = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });

function expectError(res: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(JSON.parse(res.body)).toMatchObject({ error: code, message: expect.any(String) });
  expect(contractBreach(res as Parameters<typeof contractBreach>[0], 'POST')).toBeNull();
}

describe('images', () => {
  it.each<[ImageFormat, string, number, number]>([
    ['png', 'image/png', 640, 480],
    ['jpeg', 'image/jpeg', 1200, 300],
    ['webp', 'image/webp', 200, 900],
    ['gif', 'image/gif', 100, 60],
  ])('a real %s uploads with its size, and a thumbnail of at most 320 px a side made once', async (format, type, width, height) => {
    const data = await makeImage(format, width, height);
    const res = await upload(app, member, roomId, { data, filename: `photo.${format}`, contentType: 'application/octet-stream' });
    expect(res.statusCode, res.body).toBe(201);
    const { attachment } = res.json();
    expect(attachment).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      room_id: roomId,
      uploader_id: member.id,
      name: `photo.${format}`,
      size: data.length,
      content_type: type,
      kind: 'image',
      width,
      height,
      url: expect.stringMatching(new RegExp(`^/api/attachments/${attachment.id}\\?u=${member.id}&exp=\\d+&sig=[\\w-]+$`)),
      thumbnail_url: expect.stringMatching(new RegExp(`^/api/attachments/${attachment.id}/thumbnail\\?`)),
      created_at: expect.any(String),
    });
    const original = await fetchAs(attachment.url);
    expect(original.statusCode).toBe(200);
    expect(original.headers['content-type']).toBe(type);
    expect(original.headers['x-content-type-options']).toBe('nosniff');
    expect(original.rawPayload.equals(data)).toBe(true);
    const thumbnail = await fetchAs(attachment.thumbnail_url);
    expect(thumbnail.statusCode).toBe(200);
    expect(thumbnail.headers['content-type']).toBe('image/webp');
    const meta = await sharp(thumbnail.rawPayload).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width, meta.height)).toBeLessThanOrEqual(320);
    expect(Math.max(meta.width, meta.height)).toBe(Math.min(320, Math.max(width, height)));
    // Made at upload and stored: it is on disk before anyone asked for it.
    expect(existsSync(path.join(app.config.UPLOAD_DIR, 'attachments', attachment.id.slice(0, 2), `${attachment.id}.thumb.webp`))).toBe(true);
  });

  it('refuses a lying image (PNG magic bytes, then garbage) and a truncated one with 415, storing nothing', async () => {
    const before = await app.db.attachment.count();
    const lying = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(5000, 0x41)]);
    expectError(await upload(app, member, roomId, { data: lying, filename: 'cat.png', contentType: 'image/png' }), 415, 'unsupported_media_type');
    const jpeg = await makeImage('jpeg', 400, 400);
    const truncated = (await makeImage('png', 400, 400)).subarray(0, 2000);
    expectError(await upload(app, member, roomId, { data: truncated, filename: 'cut.png' }), 415, 'unsupported_media_type');
    const garbledJpeg = Buffer.concat([jpeg.subarray(0, 3), Buffer.alloc(3000, 0)]);
    expectError(await upload(app, member, roomId, { data: garbledJpeg, filename: 'x.jpg' }), 415, 'unsupported_media_type');
    expect(await app.db.attachment.count()).toBe(before);
  });
});

describe('files', () => {
  it.each([
    ['page.html', 'text/html', '<!doctype html><script>alert(document.cookie)</script>'],
    ['drawing.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'],
    ['run.js', 'application/javascript', 'fetch("/api/auth/me").then(r => r.text()).then(alert)'],
  ])('%s uploads as a file and downloads as an attachment, never inline, with nosniff', async (filename, declared, text) => {
    const res = await upload(app, member, roomId, { data: Buffer.from(text), filename, contentType: declared });
    expect(res.statusCode, res.body).toBe(201);
    const { attachment } = res.json();
    expect(attachment).toMatchObject({ kind: 'file', content_type: 'application/octet-stream', width: null, height: null, thumbnail_url: null, name: filename });
    const download = await fetchAs(attachment.url);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/octet-stream');
    expect(parseDisposition(String(download.headers['content-disposition']))).toEqual({ type: 'attachment', parameters: { filename } });
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.headers['content-security-policy']).toContain('sandbox');
    expect(download.body).toBe(text);
    expect((await fetchAs(`/api/attachments/${attachment.id}/thumbnail`, member.auth)).statusCode).toBe(404);
  });

  it('gives a known binary type its sniffed type (still a download) and keeps any name only for display', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const name = '../../etc/passwd\u202E\u0000.pdf';
    const res = await upload(app, member, roomId, { data: pdf, filename: name });
    expect(res.statusCode, res.body).toBe(201);
    const { attachment } = res.json();
    // The multipart parser keeps the last path segment only; control and bidi characters are dropped.
    expect(attachment).toMatchObject({ kind: 'file', content_type: 'application/pdf', name: 'passwd.pdf' });
    const row = await app.db.attachment.findUniqueOrThrow({ where: { id: attachment.id } });
    expect(row.storageKey).toBe(`attachments/${attachment.id.slice(0, 2)}/${attachment.id}`);
    const download = await fetchAs(attachment.url);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect(download.headers['content-disposition']).toBe('attachment; filename=passwd.pdf');
    // Non-ASCII names travel as RFC 8187 filename*, with an ASCII fallback.
    const korean = await upload(app, member, roomId, { data: Buffer.from('hi'), filename: '보고서 최종.txt' });
    expect(korean.json().attachment.name).toBe('보고서 최종.txt');
    const disposition = (await fetchAs(korean.json().attachment.url)).headers['content-disposition'];
    expect(disposition).toBe(`attachment; filename="??? ??.txt"; filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C%20%EC%B5%9C%EC%A2%85.txt`);
  });
});

describe('refusals', () => {
  it('members only: 404 unknown room, 403 not a member, 401 without a token, before the body is read', async () => {
    const data = Buffer.from('hello');
    expectError(await upload(app, outsider, roomId, { data }), 403, 'forbidden');
    expectError(await upload(app, member, 999_999_999, { data }), 404, 'not_found');
    const anonymous = await app.inject({
      method: 'POST',
      url: `/api/messages/${roomId}/attachments`,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: multipartBody([{ data }], 'x'),
    });
    expectError(anonymous, 401, 'invalid_token');
  });

  it('400 for an empty file, another field name, no file part or a malformed body; 415 for JSON', async () => {
    expectError(await upload(app, member, roomId, { data: Buffer.alloc(0) }), 400, 'validation_error');
    expectError(await upload(app, member, roomId, { data: Buffer.from('x'), field: 'image' }), 400, 'validation_error');
    const url = `/api/messages/${roomId}/attachments`;
    const raw = (payload: string) =>
      app.inject({ method: 'POST', url, headers: { ...member.auth, 'content-type': 'multipart/form-data; boundary=b' }, payload });
    expectError(await raw('--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--b--\r\n'), 400, 'validation_error');
    expectError(await raw('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhalf a fi'), 400, 'validation_error');
    expectError(await app.inject({ method: 'POST', url, headers: member.auth, payload: { file: 'x' } }), 415, 'unsupported_media_type');
  });

  it('413 for a file over ATTACHMENT_MAX_BYTES, and one of exactly the limit is accepted', async () => {
    const max = app.config.ATTACHMENT_MAX_BYTES;
    expectError(await upload(app, member, roomId, { data: Buffer.alloc(max + 1, 1) }), 413, 'payload_too_large');
    expect((await upload(app, member, roomId, { data: Buffer.alloc(max, 1) })).statusCode).toBe(201);
  });
});

/** Writes the request over a real socket and resolves with the answer as soon as it has arrived. */
function rawUpload(head: string, body: Buffer, chunkBytes = 64 * 1024): Promise<{ answer: string; sent: number }> {
  const { port } = new URL(server.baseUrl);
  const socket = new Socket();
  return new Promise((resolve, reject) => {
    let answer = '';
    let sent = 0;
    let answered = false;
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (!answered && /\r\n\r\n[\s\S]*\}/.test(answer)) {
        answered = true;
        resolve({ answer, sent });
        socket.destroy();
      }
    });
    // The server may close right after its answer (Connection: close): a write then fails, the answer still counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!answered) (answer ? resolve({ answer, sent }) : reject(new Error(`closed without an answer after ${sent} bytes`)));
      answered = true;
    });
    socket.connect(Number(port), '127.0.0.1', async () => {
      socket.write(head);
      // Paced like a real upload, so socket buffers cannot hide how much the server read.
      for (let offset = 0; offset < body.length && !answered && !socket.destroyed; offset += chunkBytes) {
        socket.write(body.subarray(offset, offset + chunkBytes));
        sent = offset + chunkBytes;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  });
}

describe('oversize over a real socket', () => {
  const headFor = (length: number, extra = '') =>
    `POST /api/messages/${roomId}/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${member.token}\r\n` +
    `Content-Type: multipart/form-data; boundary=attachmentboundary7MA4YWxkTrZu0gW\r\n${extra}Content-Length: ${length}\r\n\r\n`;

  it('413 arrives while the body is still being sent, long before all of it (declared length within the slack)', async () => {
    const max = app.config.ATTACHMENT_MAX_BYTES;
    // Declared just under limit + slack, so the length check lets it through and the stream limit must catch it.
    const body = multipartBody([{ data: Buffer.alloc(max + 60 * 1024, 7) }]);
    const huge = Buffer.concat([body.subarray(0, body.length - 100), Buffer.alloc(8 * max, 7)]);
    const { answer, sent } = await rawUpload(headFor(huge.length).replace(`Content-Length: ${huge.length}`, 'Transfer-Encoding: chunked'), chunked(huge));
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('"error":"payload_too_large"');
    expect(sent).toBeLessThan(2 * max);
  });

  it('a declared length over the limit gets 413 before any of the body is read', async () => {
    const max = app.config.ATTACHMENT_MAX_BYTES;
    const { answer, sent } = await rawUpload(headFor(10 * max), Buffer.alloc(10 * max, 1));
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(sent).toBeLessThan(max / 2);
  });
});

/** The body as one HTTP/1.1 chunk per 64 KiB. */
function chunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += 64 * 1024) {
    const piece = body.subarray(offset, offset + 64 * 1024);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
