import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS } from '../../src/app.ts';
import { testConfig } from '../helpers/app.ts';
import { connectSse } from '../helpers/sse.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * Timeouts and the connection cap (the contract's Security section): a body sent at 1 byte/s,
 * headers that never finish and an idle connection are all closed; presence streams and
 * WebSockets, which are long-lived on purpose, are not; one instance holds at most
 * MAX_CONNECTIONS connections. Short limits here (config and build options); one test checks
 * the defaults on the server itself.
 */

const REQUEST_TIMEOUT_MS = 800;
const HEADERS_MS = 400;
const KEEP_ALIVE_MS = 400;

async function listen(overrides: Record<string, string>, timeouts?: { headersMs?: number; keepAliveMs?: number }) {
  const app = await buildApp(testConfig(overrides), { logger: false, timeouts });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return { app, port: address.port, baseUrl: `http://127.0.0.1:${address.port}` };
}

/** A raw TCP client that records what it receives and when the server closed it. */
class RawClient {
  received = '';
  readonly closedAt: Promise<number>;
  readonly opened = Date.now();
  readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('utf8')));
    this.socket.on('error', () => {});
    this.closedAt = new Promise((resolve) => this.socket.once('close', () => resolve(Date.now())));
  }

  ready(): Promise<void> {
    return new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  write(data: string): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Milliseconds from connect until the server closed it, or null if still open after `ms`. */
  async closedWithin(ms: number): Promise<number | null> {
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), ms));
    const closed = await Promise.race([this.closedAt, timeout]);
    return closed === null ? null : closed - this.opened;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

let server: { app: App; port: number; baseUrl: string };
let user: TestUser;

beforeAll(async () => {
  server = await listen({ REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), MAX_CONNECTIONS: '1000' }, { headersMs: HEADERS_MS, keepAliveMs: KEEP_ALIVE_MS });
  user = await createUser(server.app, { prefix: 'transport' });
});
afterAll(async () => server.app.close());

describe('timeouts', () => {
  it('uses the contract defaults: headers 10 s, a request 30 s, keep-alive 72 s, 10000 connections, no idle-socket cut', async () => {
    const app = await buildApp(testConfig(), { logger: false });
    try {
      expect(HEADERS_TIMEOUT_MS).toBe(10_000);
      expect(KEEP_ALIVE_TIMEOUT_MS).toBe(72_000);
      expect(app.config.REQUEST_TIMEOUT_MS).toBe(30_000);
      expect(app.config.MAX_CONNECTIONS).toBe(10_000);
      expect(app.server.headersTimeout).toBe(10_000);
      expect(app.server.requestTimeout).toBe(30_000);
      expect(app.server.keepAliveTimeout).toBe(72_000);
      expect(app.server.maxConnections).toBe(10_000);
      expect(app.server.timeout).toBe(0);
    } finally {
      await app.close();
    }
  });

  it.concurrent('cuts a body sent at 1 byte/s once REQUEST_TIMEOUT_MS has passed', async () => {
    const client = new RawClient(server.port);
    await client.ready();
    client.write(`POST /api/messages/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    const drip = setInterval(() => client.write('a'), 1000);
    try {
      const closedAfter = await client.closedWithin(REQUEST_TIMEOUT_MS + 2000);
      expect(closedAfter, 'the slow body was never cut').not.toBeNull();
      expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      // Refused with the contract's body before the close.
      expect(client.received).toMatch(/^HTTP\/1\.1 400 [\s\S]*\{"error":"validation_error","message":"The request took too long to arrive"\}$/);
    } finally {
      clearInterval(drip);
      client.destroy();
    }
  });

  it.concurrent('cuts headers that never finish, and a connection that never sends anything', async () => {
    const slow = new RawClient(server.port);
    const silent = new RawClient(server.port);
    await Promise.all([slow.ready(), silent.ready()]);
    slow.write('GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => slow.write('X'), 100);
    try {
      const [slowClosed, silentClosed] = await Promise.all([slow.closedWithin(HEADERS_MS + 2000), silent.closedWithin(HEADERS_MS + 2000)]);
      expect(slowClosed, 'slow headers were never cut').not.toBeNull();
      expect(silentClosed, 'a silent connection was never closed').not.toBeNull();
    } finally {
      clearInterval(drip);
      slow.destroy();
      silent.destroy();
    }
  });

  it.concurrent('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const client = new RawClient(server.port);
    await client.ready();
    client.write('GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    try {
      const closedAfter = await client.closedWithin(KEEP_ALIVE_MS + 2000);
      expect(client.received).toMatch(/^HTTP\/1\.1 200/);
      expect(closedAfter, 'the idle connection stayed open').not.toBeNull();
      expect(closedAfter).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 50);
    } finally {
      client.destroy();
    }
  });

  it.concurrent('leaves presence streams and WebSockets open well past every timeout', async () => {
    const stream = await connectSse(`${server.baseUrl}/api/online-status/stream`, { headers: user.auth });
    const socket = await WsClient.connect(server.baseUrl, user.token);
    try {
      expect(stream.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS + KEEP_ALIVE_MS + 600));
      expect(stream.isClosed, 'the presence stream was cut').toBe(false);
      socket.send({ type: 'ping' });
      expect((await socket.ofType('pong')).type).toBe('pong');
    } finally {
      stream.close();
      socket.close();
    }
  });
});

describe('connection cap', () => {
  it('holds at most MAX_CONNECTIONS open connections; a further one is closed on arrival, and there is room again once one leaves', async () => {
    const capped = await listen({ MAX_CONNECTIONS: '3' });
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        const client = new RawClient(capped.port);
        await client.ready();
        held.push(client);
      }
      // Node counts a connection once it has been accepted: let the three be seen.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const extra = new RawClient(capped.port);
      extra.write('GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      expect(await extra.closedWithin(1000), 'the fourth connection was served').not.toBeNull();
      expect(extra.received).toBe('');

      held.shift()?.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const res = await fetch(`${capped.baseUrl}/api/health/live`);
      expect(res.status).toBe(200);
    } finally {
      for (const client of held) client.destroy();
      await capped.app.close();
    }
  });
});
