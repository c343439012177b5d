import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { checkProperty, contractBreach, fuzzRuns } from '../helpers/fuzz.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * Hostile input below the router: malformed HTTP over a real socket (broken request lines,
 * invalid or conflicting Content-Length/Transfer-Encoding, oversized or illegal headers). Node's
 * parser refuses these before Fastify sees them; the answer must still be the contract's error
 * body, and the server must go on serving.
 */

let server: { app: App; baseUrl: string };
let port: number;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  port = Number(new URL(server.baseUrl).port);
  user = await createUser(server.app, { prefix: 'raw' });
});
afterAll(async () => server.app.close());

interface Exchange {
  status: number | null;
  headers: string;
  body: string;
  raw: string;
}

/** Sends raw bytes, collects everything until the server closes (or `ms` pass), and parses the first answer. */
function exchange(request: string | Buffer, ms = 1500, headOnly = false): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const raw = received.toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const headers = end === -1 ? raw : raw.slice(0, end);
      const length = Number(/content-length:\s*(\d+)/i.exec(headers)?.[1] ?? NaN);
      const rest = end === -1 ? '' : received.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1'));
      const body = Number.isFinite(length) ? Buffer.from(rest).subarray(0, length).toString('utf8') : Buffer.from(rest).toString('utf8');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1];
      resolve({ status: status ? Number(status) : null, headers, body, raw });
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // One complete answer is all we judge.
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1];
      if (end !== -1 && (headOnly || (length !== undefined && received.length >= end + 4 + Number(length)))) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => {});
    socket.write(request);
  });
}

function breachOf(answer: Exchange, method: string): string | null {
  if (answer.status === null) return answer.raw.length > 0 ? `not HTTP: ${JSON.stringify(answer.raw.slice(0, 200))}` : null;
  const contentType = /content-type:\s*([^\r\n]+)/i.exec(answer.headers)?.[1];
  return contractBreach({ statusCode: answer.status, headers: { 'content-type': contentType }, body: answer.body }, method);
}

const MALFORMED: [string, string][] = [
  ['garbage request line', 'HELLO\r\n\r\n'],
  ['no version', 'GET /api/health/live\r\n\r\n'],
  ['unknown version', 'GET /api/health/live HTTP/9.9\r\nHost: x\r\n\r\n'],
  ['lowercase method', 'get /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['unknown method', 'BREW /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['space in path', 'GET /api/health live HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['non-numeric Content-Length', 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}'],
  ['negative Content-Length', 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}'],
  ['two different Content-Lengths', 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}'],
  ['Content-Length and chunked', 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
  ['bad chunk size', 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
  ['unknown transfer coding', 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked, rot13\r\n\r\n'],
  ['header without colon', 'GET /api/health/live HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'],
  ['space before colon', 'GET /api/health/live HTTP/1.1\r\nHost : x\r\n\r\n'],
  ['NUL in a header', 'GET /api/health/live HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'],
  ['obsolete line folding', 'GET /api/health/live HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
  ['bare LF', 'GET /api/health/live HTTP/1.1\nHost: x\n\n'],
  ['headers over the limit', `GET /api/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`],
  ['many headers', `GET /api/health/live HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`],
  ['HTTP/1.1 without Host', 'GET /api/health/live HTTP/1.1\r\n\r\n'],
  ['upgrade without Host', 'GET /ws/chat HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
  ['unknown Expect', 'GET /api/health/live HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n'],
  ['binary garbage', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003'],
];

describe('malformed HTTP', () => {
  it.each(MALFORMED)('%s: the contract error body (or a closed socket), never a 5xx', async (_name, request) => {
    const answer = await exchange(Buffer.from(request, 'latin1'));
    expect(breachOf(answer, 'GET'), answer.raw.slice(0, 300)).toBeNull();
  });

  it('generated request lines and headers: never a 5xx or a body outside the contract', async () => {
    const token = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'get', 'G ET', '', 'PRI');
    const target = fc.oneof(
      fc.constantFrom('/api/health/live', '/api/auth/me', '/api/messages/1', '*', 'http://evil.example/api/auth/me', '/api/%zz', '//', '/..', `/api/${'x'.repeat(9000)}`, ''),
      fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => `/${s.replace(/[\r\n ]/g, '')}`),
    );
    const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', '');
    const header = fc.oneof(
      fc.constantFrom(
        'Host: x',
        `Authorization: Bearer ${user.token}`,
        'Authorization: Bearer \u0001',
        'Content-Type: application/json',
        'Content-Type: text/plain',
        'Content-Length: 0',
        'Content-Length: 5',
        'Content-Length: 99999999999999999999',
        'Content-Length: 1e3',
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: identity',
        'Expect: 100-continue',
        'Expect: bogus',
        'Connection: close',
        'Upgrade: websocket',
        'Cookie: jwt_token=%zz; jwt_token=1',
        'X-Forwarded-For: not-an-ip, ::ffff:999.1.1.1',
        'X-Request-Id: \u00ff\u00fe',
        `X-Long: ${'y'.repeat(10_000)}`,
      ),
      fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 20 })).map(([k, v]) => `${k}: ${v}`),
    );
    const body = fc.oneof(fc.constantFrom('', '{}', '{"a":', '0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n'), fc.string({ unit: 'binary-ascii', maxLength: 40 }));
    await checkProperty(
      fc.asyncProperty(token, target, version, fc.array(header, { maxLength: 6 }), body, async (method, path, httpVersion, headers, payload) => {
        const request = `${method} ${path} ${httpVersion}\r\n${headers.join('\r\n')}${headers.length ? '\r\n' : ''}\r\n${payload}`;
        const answer = await exchange(Buffer.from(request, 'latin1'), 250, method === 'HEAD');
        const breach = breachOf(answer, method);
        if (breach) throw new Error(`${JSON.stringify(request.slice(0, 300))}\n  → ${breach}`);
      }),
      fuzzRuns(40),
    );
  });

  it('the server still serves afterwards', async () => {
    const res = await fetch(`${server.baseUrl}/api/auth/me`, { headers: user.auth });
    expect(res.status).toBe(200);
  });
});
