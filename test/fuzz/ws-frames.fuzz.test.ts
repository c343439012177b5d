import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WS_FRAME_BYTES } from '../../src/app.ts';
import { type App, startTestServer } from '../helpers/app.ts';
import {
  checkProperty,
  contractBreach,
  FrameRecorder,
  fuzzRuns,
  ghostId,
  HOSTILE_NUMBERS,
  HOSTILE_PATH_VALUES,
  hostileFieldValue,
  hostileString,
  LONG_STRINGS,
  substitutePath,
} from '../helpers/fuzz.ts';
import { createGroup, eventually, send } from '../helpers/rooms.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { WsClient } from '../helpers/ws.ts';

/**
 * Hostile input, WebSocket side: generated frames on /ws/chat. The server answers only with
 * frames the contract lists (errors with a listed code), keeps the socket open (the one
 * documented exception: a frame over the size limit closes it with 1009) and still answers
 * ping with pong afterwards.
 */

let server: { app: App; baseUrl: string };
let user: TestUser;
let roomId: number;
let messageId: string;

beforeAll(async () => {
  server = await startTestServer();
  user = await createUser(server.app, { prefix: 'wsfuzz' });
  const peer = await createUser(server.app, { prefix: 'wsfuzz' });
  roomId = (await createGroup(server.app, user, { name: 'ws fuzz', member_ids: [peer.id] })).id;
  messageId = (await send(server.app, user, roomId, 'seed')).id;
});
afterAll(async () => server.app.close());

interface OutFrame {
  kind: string;
  data: string | Buffer;
  binary: boolean;
}

const text = (kind: string, value: unknown): OutFrame => ({ kind, data: JSON.stringify(value) ?? 'null', binary: false });

const FRAME_TYPES = ['join', 'leave', 'message', 'typing', 'read', 'ping', 'presence_subscribe', 'presence_unsubscribe'] as const;

/** Every kind of frame the issue lists. */
function frames(): fc.Arbitrary<OutFrame> {
  const ids = [roomId, user.id];
  const roomIdValue = fc.oneof(
    { weight: 3, arbitrary: fc.constant<unknown>(roomId) },
    { weight: 1, arbitrary: ghostId() },
    { weight: 3, arbitrary: hostileFieldValue(ids, []) },
  );
  const type = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom<unknown>(...FRAME_TYPES) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('dance', '', 'PING', 'Join', '__proto__', 'constructor', 'toString', 'error', 'pong', 'ack', null, 1, ['ping'], { type: 'ping' }) },
  );
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
  const framed = fc
    .record({
      type,
      room_id: optional(roomIdValue),
      content: optional(fc.oneof(hostileString(), hostileFieldValue(ids, []))),
      message_type: optional(fc.oneof(fc.constantFrom<unknown>('text', 'image', 'file', 'sticker', 'system'), hostileFieldValue(ids, []))),
      attachment_url: optional(fc.oneof(fc.constantFrom<unknown>('/uploads/a.png', 'https://example.com/a.png', 'javascript:alert(1)'), hostileString())),
      reply_to: optional(fc.oneof(fc.constant<unknown>(messageId), hostileFieldValue(ids, []))),
      temp_id: optional(fc.oneof(hostileString(), hostileFieldValue(ids, []))),
      is_typing: optional(fc.oneof(fc.boolean(), hostileFieldValue(ids, []))),
      message_id: optional(fc.oneof(fc.constant<unknown>(messageId), hostileString(), hostileFieldValue(ids, []))),
      extra: optional(fc.constantFrom<unknown>({ $gt: '' }, JSON.parse('{"__proto__":{"polluted":true}}'), 'x')),
    })
    .map((frame) => text('valid-looking', Object.fromEntries(Object.entries(frame).filter(([, v]) => v !== undefined))));
  const wellFormed = fc.oneof(
    fc.constant(text('valid join', { type: 'join', room_id: roomId })),
    fc.constant(text('valid leave', { type: 'leave', room_id: roomId })),
    fc.constant(text('valid typing', { type: 'typing', room_id: roomId, is_typing: true })),
    fc.constant(text('valid read', { type: 'read', room_id: roomId, message_id: messageId })),
    fc.tuple(hostileString(), fc.string({ minLength: 1, maxLength: 20 })).map(([content, tempId]) =>
      text('valid message', { type: 'message', room_id: roomId, content: content.trim() ? content : 'x', temp_id: tempId }),
    ),
  );
  const nearLimit = fc.constantFrom(
    ...[MAX_WS_FRAME_BYTES - 200, MAX_WS_FRAME_BYTES - 100].map((size) =>
      text('near the size limit', { type: 'message', room_id: roomId, content: 'x'.repeat(size), temp_id: 'big' }),
    ),
    { kind: 'exactly the size limit', data: `"${'y'.repeat(MAX_WS_FRAME_BYTES - 2)}"`, binary: false },
  );
  const nested = fc.constantFrom(
    { kind: 'nested arrays', data: `${'['.repeat(20_000)}${']'.repeat(20_000)}`, binary: false },
    { kind: 'nested objects', data: `${'{"type":'.repeat(5_000)}"ping"${'}'.repeat(5_000)}`, binary: false },
    { kind: 'nested content', data: `{"type":"message","room_id":${roomId},"temp_id":"n","content":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`, binary: false },
  );
  const malformed = fc.oneof(
    fc.constantFrom('not json', '', ' ', '\u0000', '{', '{"type":"ping"', '"ping"', 'null', '[]', '{}', '{"type":"ping"}{"type":"ping"}', 'ping', '\uFEFF{"type":"ping"}'),
    fc.string({ maxLength: 40 }),
  ).map((data): OutFrame => ({ kind: 'malformed', data, binary: false }));
  const binary = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((bytes): OutFrame => ({ kind: 'binary', data: Buffer.from(bytes), binary: true })),
    fc.constant<OutFrame>({ kind: 'binary JSON', data: Buffer.from('{"type":"ping"}'), binary: true }),
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => text('jsonValue', v)) },
    { weight: 2, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => text('anything', v)) },
    { weight: 8, arbitrary: framed },
    { weight: 4, arbitrary: wellFormed },
    { weight: 1, arbitrary: nearLimit },
    { weight: 1, arbitrary: nested },
    { weight: 3, arbitrary: malformed },
    { weight: 2, arbitrary: binary },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS, ...LONG_STRINGS.slice(0, 4)).map((v) => text('scalar', v)) },
  );
}

const describeFrames = (sent: OutFrame[]) =>
  sent.map((f) => `${f.kind}: ${(typeof f.data === 'string' ? f.data : `<${f.data.length} bytes>`).slice(0, 120)}`).join('\n    ');

describe('generated frames', () => {
  it('get only contract frames back; the socket stays open and still answers ping', async () => {
    await checkProperty(
      fc.asyncProperty(fc.array(frames(), { minLength: 1, maxLength: 8 }), async (sent) => {
        const client = await FrameRecorder.connect(server.baseUrl, user.token);
        try {
          for (const frame of sent) client.send(frame.data, frame.binary);
          client.send(JSON.stringify({ type: 'ping' }));
          // The one documented way to lose the socket: a frame over the size limit (1009).
          const oversize = sent.some((frame) => (typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.length) > MAX_WS_FRAME_BYTES);
          const ponged = await client.waitFor((frame) => frame.type === 'pong', oversize ? 500 : 5000);
          // Frames are handled concurrently: give the slower ones (joins, sends) a moment to answer too.
          await new Promise((resolve) => setTimeout(resolve, 30));
          const problems = client.breaches();
          if (oversize) {
            const closed = await Promise.race([client.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000))]);
            if (closed?.code !== 1009) problems.push(`an oversize frame did not close the socket with 1009: ${JSON.stringify(closed)}`);
          } else {
            if (!client.open) problems.push(`socket closed: ${JSON.stringify(await client.closed)}`);
            if (!ponged) problems.push('no pong after the frames');
          }
          if (problems.length > 0) throw new Error(`sent:\n    ${describeFrames(sent)}\n  problems:\n    ${problems.join('\n    ')}`);
        } finally {
          client.close();
        }
      }),
      fuzzRuns(40),
    );
  });

  it('a flood of hostile frames is rate limited with contract errors, and the socket recovers', async () => {
    const client = await FrameRecorder.connect(server.baseUrl, user.token);
    try {
      const flood = fc.sample(frames(), { numRuns: 150, seed: 42 }).filter((frame) => !frame.kind.includes('limit'));
      for (const frame of flood) client.send(frame.data, frame.binary);
      expect(await client.waitFor((frame) => frame.type === 'error' && frame.code === 'RATE_LIMITED')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2100)); // the bucket refills at 20 frames/s
      client.send(JSON.stringify({ type: 'ping' }));
      expect(await client.waitFor((frame) => frame.type === 'pong')).toBe(true);
      expect(client.breaches()).toEqual([]);
      expect(client.open).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe('frame size', () => {
  it('a frame just over the limit closes the socket with 1009; others are unaffected', async () => {
    const bystander = await FrameRecorder.connect(server.baseUrl, user.token);
    const client = await FrameRecorder.connect(server.baseUrl, user.token);
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_WS_FRAME_BYTES) }));
    expect((await client.closed).code).toBe(1009);
    bystander.send(JSON.stringify({ type: 'ping' }));
    expect(await bystander.waitFor((frame) => frame.type === 'pong')).toBe(true);
    bystander.close();
  });

  it('a frame of exactly the limit is handled (an error frame), not closed', async () => {
    const client = await FrameRecorder.connect(server.baseUrl, user.token);
    const frame = JSON.stringify({ type: 'message', room_id: roomId, temp_id: 't', content: '' });
    client.send(frame.replace('"content":""', `"content":"${'x'.repeat(MAX_WS_FRAME_BYTES - frame.length)}"`));
    expect(await client.waitFor((f) => f.type === 'error' && f.code === 'BAD_REQUEST')).toBe(true);
    client.send(JSON.stringify({ type: 'ping' }));
    expect(await client.waitFor((f) => f.type === 'pong')).toBe(true);
    expect(client.breaches()).toEqual([]);
    client.close();
  });

  it('invalid UTF-8 in a text frame fails that connection (RFC 6455: 1007), nothing else', async () => {
    const client = await FrameRecorder.connect(server.baseUrl, user.token);
    client.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
    expect((await client.closed).code).toBe(1007);
    const next = await FrameRecorder.connect(server.baseUrl, user.token);
    next.send(JSON.stringify({ type: 'ping' }));
    expect(await next.waitFor((frame) => frame.type === 'pong')).toBe(true);
    next.close();
  });
});

describe('the upgrade request', () => {
  it('hostile room ids in /ws/chat/:room_id are refused with 400 and the error body, before any socket', async () => {
    for (const value of HOSTILE_PATH_VALUES) {
      const url = `${server.baseUrl}${substitutePath('/ws/chat/:room_id', { room_id: value })}?token=${encodeURIComponent(user.token)}`;
      const refused = await WsClient.refused(url);
      const breach = contractBreach({ statusCode: refused.status, headers: { 'content-type': 'application/json' }, body: refused.body }, 'GET');
      expect(breach, value.value).toBeNull();
      expect(refused.status, value.value).toBeGreaterThanOrEqual(400);
    }
  });

  it('a refused upgrade is closed by the server, even when the router itself refuses it (bad URL, long id)', async () => {
    const { port } = new URL(server.baseUrl);
    for (const path of ['/ws/chat/%zz', `/ws/chat/${'1'.repeat(150)}`, '/ws/chat/abc', '/ws/chat?token=forged']) {
      const socket = connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
      const closed = new Promise<boolean>((resolve) => {
        socket.once('close', () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      socket.write(
        `GET ${path}${path.includes('?') ? '' : `?token=${user.token}`} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      expect(await closed, `${path}: the server left the socket open`).toBe(true);
      socket.destroy();
      expect(answer, path).toMatch(/^HTTP\/1\.1 40[01] /);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      expect(JSON.parse(body), path).toMatchObject({ error: expect.stringMatching(/^(validation_error|invalid_token)$/), message: expect.any(String) });
      expect(body, path).not.toContain(user.token);
    }
  });

  it('hostile tokens are refused with 401 and the error body', async () => {
    const tokens = ['', 'x', 'a.b.c', `${user.token}x`, user.token.split('.').slice(0, 2).join('.'), '${7*7}', "' OR 1=1 --", '😀', 'e'.repeat(8000)];
    for (const token of tokens) {
      const refused = await WsClient.refused(`${server.baseUrl}/ws/chat?token=${encodeURIComponent(token)}`);
      expect(refused.status, token.slice(0, 40)).toBe(401);
      expect(JSON.parse(refused.body), token.slice(0, 40)).toMatchObject({ error: 'invalid_token', message: expect.any(String) });
    }
  });

  it('a room the user is not in: the upgrade succeeds and the join is refused with UNAUTHORIZED', async () => {
    const client = await FrameRecorder.connect(server.baseUrl, user.token, '/ws/chat/2100000000');
    expect(await client.waitFor((frame) => frame.type === 'error' && frame.code === 'UNAUTHORIZED')).toBe(true);
    expect(client.open).toBe(true);
    client.close();
  });
});

describe('after all of the above', () => {
  it('no connection is left behind and a fresh socket still gets pong', async () => {
    await eventually(() => server.app.chat.connectionCount === 0, 5000);
    const client = await WsClient.connect(server.baseUrl, user.token);
    client.send({ type: 'ping' });
    expect(await client.ofType('pong')).toEqual({ type: 'pong' });
    client.close();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
