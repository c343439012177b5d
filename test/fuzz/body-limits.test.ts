import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AVATAR_BYTES } from '../../src/modules/profile/profile.schemas.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import { contractBreach, listRoutes } from '../helpers/fuzz.ts';
import { createGroup } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * Oversized bodies: refused with 413 `payload_too_large` before they are buffered. Proven over
 * a real socket: the 413 arrives while most of the body has not even been sent.
 */

const TEN_MB = 10 * 1024 * 1024;

let server: { app: App; baseUrl: string };
let port: number;
let user: TestUser;
let roomId: number;

beforeAll(async () => {
  server = await startTestServer();
  port = Number(new URL(server.baseUrl).port);
  user = await createUser(server.app, { prefix: 'limit' });
  roomId = (await createGroup(server.app, user, { name: 'limits' })).id;
});
afterAll(async () => server.app.close());

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** A raw HTTP/1.1 exchange: resolves with the parsed answer as soon as it is complete. */
class RawRequest {
  private received = Buffer.alloc(0);
  readonly answer: Promise<RawAnswer>;
  written = 0;
  private readonly socket: Socket;

  constructor(head: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.answer = new Promise((resolve, reject) => {
      const tryParse = () => {
        const text = this.received.toString('utf8');
        const end = text.indexOf('\r\n\r\n');
        if (end === -1) return;
        const headers = text.slice(0, end);
        const length = /content-length:\s*(\d+)/i.exec(headers)?.[1];
        const body = text.slice(end + 4);
        if (length !== undefined && Buffer.byteLength(body) < Number(length)) return;
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0), headers, body });
      };
      this.socket.on('data', (chunk: Buffer) => {
        this.received = Buffer.concat([this.received, chunk]);
        tryParse();
      });
      this.socket.on('close', () => reject(new Error(`connection closed; got ${JSON.stringify(this.received.toString('utf8').slice(0, 300))}`)));
    });
    this.answer.catch(() => {});
    this.write(head);
  }

  /** Writes, waiting for the socket to drain (so `written` counts what actually left). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      const flushed = this.socket.write(data, () => {
        this.written += bytes;
        resolve();
      });
      if (!flushed) this.socket.once('drain', () => resolve());
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))]);

function expect413(answer: RawAnswer): void {
  expect(answer.status, answer.body).toBe(413);
  expect(JSON.parse(answer.body)).toMatchObject({ error: 'payload_too_large', message: expect.any(String) });
  expect(contractBreach({ statusCode: answer.status, headers: { 'content-type': 'application/json' }, body: answer.body }, 'POST')).toBeNull();
}

describe('a 10 MB JSON body', () => {
  it('with Content-Length: 413 arrives after the headers and 64 KB, the other 9.9 MB never sent', async () => {
    for (const [path, auth] of [
      ['/api/auth/register', ''],
      [`/api/messages/${roomId}`, `Authorization: Bearer ${user.token}\r\n`],
      ['/api/group-rooms', `Authorization: Bearer ${user.token}\r\n`],
    ] as const) {
      const request = new RawRequest(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: ${TEN_MB}\r\n\r\n`,
      );
      try {
        await request.write(`{"content":"${'a'.repeat(64 * 1024)}`);
        const answer = await within(request.answer, 3000, path);
        expect413(answer);
        expect(request.written, path).toBeLessThan(100 * 1024);
      } finally {
        request.close();
      }
    }
  });

  it('chunked, without Content-Length: cut off with 413 long before 10 MB were sent', async () => {
    const request = new RawRequest(
      `POST /api/messages/${roomId} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${user.token}\r\n` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    try {
      let answered = false;
      void request.answer.then(() => (answered = true), () => (answered = true));
      const chunk = Buffer.from(`10000\r\n${'b'.repeat(0x10000)}\r\n`);
      await request.write(`1\r\n{\r\n`);
      // Paced like a real upload, so the kernel's socket buffers cannot hide how much was read.
      while (!answered && request.written < TEN_MB) {
        await request.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      const answer = await within(request.answer, 3000, 'chunked');
      expect413(answer);
      const limit = server.app.config.BODY_LIMIT_BYTES;
      expect(request.written).toBeLessThan(2 * limit);
    } finally {
      request.close();
    }
  });

  it('through every route that takes a body, with a valid token: 413 on the declared length alone', async () => {
    const routes = listRoutes(server.app).filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      const url = route.url.replace(/:[a-z_]+/g, (param) => (param.includes('room') ? String(roomId) : String(user.id)));
      const res = await server.app.inject({
        method: route.method as 'POST',
        url,
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        payload: `{"x":"${'c'.repeat(TEN_MB)}"}`,
      });
      expect(res.statusCode, `${route.method} ${url}: ${res.body}`).toBe(413);
      expect(res.json().error).toBe('payload_too_large');
    }
  });

  it('a body just under the limit is parsed and judged on its content (400), not refused or crashed', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: `/api/messages/${roomId}`,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'd'.repeat(server.app.config.BODY_LIMIT_BYTES - 100) }),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toBe('validation_error');
  });
});

describe('multipart avatar', () => {
  const multipart = (size: number, boundary = 'limitboundary') => {
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    const png = Buffer.alloc(size, 0x41);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
    return Buffer.concat([head, png, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  };

  it('an image over 5 MB is refused with 413 and nothing is stored', async () => {
    const body = multipart(MAX_AVATAR_BYTES + 512 * 1024);
    const request = new RawRequest(
      `POST /api/profile/me/image HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${user.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=limitboundary\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    try {
      let answered = false;
      void request.answer.then(() => (answered = true), () => (answered = true));
      for (let offset = 0; offset < body.length && !answered; offset += 256 * 1024) await request.write(body.subarray(offset, offset + 256 * 1024));
      expect413(await within(request.answer, 5000, 'avatar'));
    } finally {
      request.close();
    }
    const me = (await server.app.inject({ url: '/api/profile/me', headers: user.auth })).json().user;
    expect(me.profile_image_url).toBeNull();
  });

  it('an image of exactly 5 MB is accepted', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/profile/me/image',
      headers: { ...user.auth, 'content-type': 'multipart/form-data; boundary=limitboundary' },
      payload: multipart(MAX_AVATAR_BYTES),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user.profile_image_url).toMatch(/^\/uploads\//);
  });

  it('malformed multipart bodies are a 400, never a 500', async () => {
    const cases: [string, string | Buffer][] = [
      ['multipart/form-data', '{}'],
      ['multipart/form-data; boundary=', 'x'],
      [`multipart/form-data; boundary=${'b'.repeat(300)}`, 'x'],
      ['multipart/form-data; boundary=limitboundary', multipart(1024).subarray(0, 200)],
      ['multipart/form-data; boundary=limitboundary', '--limitboundary\r\n\r\n'],
      ['multipart/form-data; boundary=limitboundary', '--limitboundary\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--limitboundary--\r\n'],
      ['multipart/form-data; boundary=other', multipart(1024)],
    ];
    for (const [contentType, payload] of cases) {
      const res = await server.app.inject({ method: 'POST', url: '/api/profile/me/image', headers: { ...user.auth, 'content-type': contentType }, payload });
      expect(res.statusCode, `${contentType}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(contractBreach(res, 'POST'), `${contentType}: ${res.body}`).toBeNull();
    }
  });
});
