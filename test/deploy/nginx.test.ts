import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ServerProcess, waitUntil, within } from '../helpers/faults.ts';
import { findNginx, NginxProcess } from '../helpers/nginx.ts';
import { call, createRemoteUser, expectStatus, remoteBefriend, remoteLogin, type RemoteUser } from '../helpers/remote.ts';
import { connectSse, type SseClient } from '../helpers/sse.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';

/**
 * The production path: the real nginx (Debian's package; `.ci/run` installs it) with the
 * configuration rendered from deploy/nginx/templates/chat.conf.template, the file
 * docker-compose.yml uses, for loopback (only the listen address and the upstream servers
 * differ), in front of two instances of the real server (child processes on the run's
 * MariaDB database and Redis db). Everything below goes through nginx: REST is balanced over
 * both instances, a WebSocket message sent through one instance reaches a socket on the other,
 * presence events arrive while the stream stays open, the address the app sees is the one nginx
 * saw whatever X-Forwarded-For a client sends, nginx's own errors (413, no instance left) carry
 * the contract's body, and a killed instance is skipped.
 */

const nginxBinary = findNginx();
if (!nginxBinary) {
  console.warn('[nginx] test/deploy/nginx.test.ts skipped: no nginx binary found (apt-get install nginx; .ci/run installs it)');
}

describe.skipIf(!nginxBinary)('nginx in front of two instances (skipped when nginx is not installed)', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let nginx: NginxProcess;
  let redis: Redis;
  let uploadDir: string | undefined;
  const tag = Date.now().toString(36);
  const sockets: WsClient[] = [];
  const streams: SseClient[] = [];

  beforeAll(async () => {
    uploadDir = mkdtempSync(path.join(tmpdir(), 'bigtech-nginx-uploads-'));
    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
      BCRYPT_ROUNDS: '4',
      UPLOAD_DIR: uploadDir,
      // nginx runs on loopback: only it may set X-Forwarded-For.
      TRUST_PROXY: '127.0.0.1',
      AUTH_RATE_PER_IP: '100000',
      LOGIN_MAX_FAILURES: '1000',
      API_RATE_PER_USER: '100000',
      API_RATE_PER_IP: '100000',
      MESSAGE_RATE_PER_USER: '100000',
      MESSAGE_BURST_PER_USER: '100000',
      ROOM_CREATE_PER_HOUR: '100000',
      MAX_SOCKETS_PER_USER: '100000',
      MAX_STREAMS_PER_USER: '100000',
    };
    // If one fails to start, the other must not outlive the run.
    const started = await Promise.allSettled([ServerProcess.start(env), ServerProcess.start(env)]);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((result) => (result.status === 'fulfilled' ? result.value.kill() : undefined)));
      throw failed.reason;
    }
    [a, b] = started.map((result) => (result as PromiseFulfilledResult<ServerProcess>).value) as [ServerProcess, ServerProcess];
    nginx = await NginxProcess.start(nginxBinary as string, [a.port, b.port]);
    redis = new Redis(inject('redisUrl'));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    for (const stream of streams) stream.close();
    await nginx?.stop();
    await Promise.all([a?.kill(), b?.kill()]);
    redis?.disconnect();
    if (uploadDir) rmSync(uploadDir, { recursive: true, force: true });
  });

  /** Which instance logged a request with this id (the app logs every request with its reqId). */
  const loggedBy = (requestId: string): ServerProcess[] => [a, b].filter((server) => server.output.includes(`"reqId":"${requestId}"`));

  /** Access-log lines of nginx for a path (the `chat` format logs the path without its query). */
  const accessLines = (pathname: string): string[] => nginx.accessLog().split('\n').filter((line) => line.includes(` ${pathname} HTTP/1.1"`));
  /** The replicas nginx tried for that request, in order. */
  const upstreamsOf = (line: string): string[] => (/upstream="([^"]*)"/.exec(line)?.[1] ?? '').split(',').map((address) => address.trim());

  async function connectWs(user: RemoteUser, wsPath: string): Promise<WsClient> {
    const client = await WsClient.connect(nginx.baseUrl, user.token, wsPath);
    sockets.push(client);
    return client;
  }

  it('balances REST requests over both instances and passes the request id both ways', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `nginx-${tag}-spread-${i}`);
    for (const id of ids) {
      const res = await call(nginx.baseUrl, 'GET', '/api/health/live', { headers: { 'x-request-id': id } });
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('x-request-id'), 'the app took the client request id from nginx').toBe(id);
    }
    // A request without one gets nginx's $request_id (32 hex digits; the app's own are UUIDs).
    const anonymous = await call(nginx.baseUrl, 'GET', '/api/health/live');
    const generated = anonymous.headers.get('x-request-id') ?? '';
    expect(generated).toMatch(/^[0-9a-f]{32}$/);

    await waitUntil(() => {
      const byInstance = ids.map((id) => loggedBy(id));
      expect(byInstance.every((servers) => servers.length === 1), 'each request was served by exactly one instance').toBe(true);
      const onA = byInstance.filter((servers) => servers[0] === a).length;
      expect(onA, 'instance A served some requests').toBeGreaterThan(0);
      expect(ids.length - onA, 'instance B served some requests').toBeGreaterThan(0);
      expect(loggedBy(generated)).toHaveLength(1);
    }, 3000);
    expect(nginx.accessLog()).toContain(`rid=${generated}`);
  });

  it('carries a WebSocket chat: a message sent through one instance reaches a socket on the other', async () => {
    const [alice, bob] = await Promise.all([createRemoteUser(nginx.baseUrl, 'ngxws'), createRemoteUser(nginx.baseUrl, 'ngxws')]);
    await remoteBefriend(nginx.baseUrl, alice, bob);
    const created = await expectStatus(201, 'create group', call(nginx.baseUrl, 'POST', '/api/group-rooms', {
      token: alice.token,
      body: { name: 'through nginx', member_ids: [bob.id] },
    }));
    const roomId = created.body.room.id as number;

    // Alice joins through the URL, Bob with a join frame: two paths, so nginx's access log
    // tells which instance carried which socket.
    const aliceWs = await connectWs(alice, `/ws/chat/${roomId}`);
    await aliceWs.next((frame) => frame.type === 'joined' && frame.room_id === roomId, 5000);
    // least_conn: with Alice's socket open on one instance, the next connection goes to the other.
    const bobWs = await connectWs(bob, '/ws/chat');
    bobWs.send({ type: 'join', room_id: roomId });
    await bobWs.next((frame) => frame.type === 'joined' && frame.room_id === roomId, 5000);

    aliceWs.send({ type: 'message', room_id: roomId, content: 'hello through nginx', temp_id: `${tag}-ws-1` });
    const ack = await aliceWs.next((frame) => frame.type === 'ack' && frame.temp_id === `${tag}-ws-1`, 5000);
    const messageId = (ack.message as { id: string }).id;
    const received = await bobWs.next((frame: Frame) => frame.type === 'message' && (frame.message as { id: string }).id === messageId, 5000);
    expect((received.message as { content: string }).content).toBe('hello through nginx');

    // And back, the other way.
    bobWs.send({ type: 'message', room_id: roomId, content: 'and back', temp_id: `${tag}-ws-2` });
    await bobWs.next((frame) => frame.type === 'ack' && frame.temp_id === `${tag}-ws-2`, 5000);
    await aliceWs.next((frame) => frame.type === 'message' && (frame.message as { content: string }).content === 'and back', 5000);
    bobWs.send({ type: 'ping' });
    await bobWs.ofType('pong', 2000);

    // nginx writes a WebSocket's access-log line when it closes.
    aliceWs.close();
    bobWs.close();
    await Promise.all([aliceWs.closed, bobWs.closed]);
    const [aliceLine, bobLine] = await waitUntil(() => {
      const aliceLines = accessLines(`/ws/chat/${roomId}`);
      const bobLines = accessLines('/ws/chat');
      expect(aliceLines).toHaveLength(1);
      expect(bobLines.length).toBeGreaterThan(0);
      return [aliceLines[0] as string, bobLines.at(-1) as string];
    }, 3000);
    expect(aliceLine).toContain('" 101 ');
    expect(aliceLine, 'the token in the query string is not logged').not.toContain('token');
    const instances = new Set([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    const [aliceOn, bobOn] = [upstreamsOf(aliceLine), upstreamsOf(bobLine)];
    expect(aliceOn).toHaveLength(1);
    expect(bobOn).toHaveLength(1);
    expect(instances.has(aliceOn[0] ?? '')).toBe(true);
    expect(instances.has(bobOn[0] ?? '')).toBe(true);
    expect(aliceOn[0], 'the two sockets were on different instances').not.toBe(bobOn[0]);
  });

  it('streams presence events through nginx as they happen (no buffering)', async () => {
    const [carol, dave] = await Promise.all([createRemoteUser(nginx.baseUrl, 'ngxsse'), createRemoteUser(nginx.baseUrl, 'ngxsse')]);
    await remoteBefriend(nginx.baseUrl, carol, dave);
    const stream = await connectSse(`${nginx.baseUrl}/api/online-status/stream`, { headers: { authorization: `Bearer ${carol.token}` } });
    streams.push(stream);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['content-length']).toBeUndefined();

    // Events arrive while the stream stays open, each within a few seconds (a proxy holding the
    // response until it ends, or until a buffer filled, would time out here). The contract's one
    // second is the app's, tested in test/presence.
    const connected = await stream.waitFor((event) => event.event === 'connected', { timeoutMs: 3000 });
    expect(JSON.parse(connected.data).friend_ids).toEqual([dave.id]);
    await stream.waitForStatus(dave.id, true, { timeoutMs: 3000 });

    // Dave logs out (offline) and in again (online), each on whichever instance nginx picks.
    let from = stream.mark();
    await expectStatus(204, 'logout', call(nginx.baseUrl, 'POST', '/api/auth/logout', { token: dave.token }));
    await stream.waitForStatus(dave.id, false, { from, timeoutMs: 3000 });
    from = stream.mark();
    await remoteLogin(nginx.baseUrl, dave);
    await stream.waitForStatus(dave.id, true, { from, timeoutMs: 3000 });
    expect(stream.isClosed).toBe(false);
    stream.close();
  });

  it('gives the app the address nginx saw, not a forged X-Forwarded-For', async () => {
    const user = await createRemoteUser(nginx.baseUrl, 'ngxip');
    // Random addresses in the benchmarking range (198.18.0.0/15), which no other test uses.
    const octet = () => 1 + Math.floor(Math.random() * 250);
    const believed = `198.18.${octet()}.${octet()}`;
    const forged = `198.19.${octet()}.${octet()}`;
    // Redis keys that name an address (the app's limiters count per client address).
    const keysWith = async (address: string) => {
      const exact = new RegExp(`(^|[^0-9.])${address.replaceAll('.', '\\.')}($|[^0-9])`);
      return (await redis.keys(`*${address}*`)).filter((key) => exact.test(key));
    };

    // Control: straight to an instance, from loopback (a trusted proxy: TRUST_PROXY=127.0.0.1),
    // the header is believed, and the address shows up in the limiter's keys.
    await remoteLogin(b.baseUrl, user, { 'x-forwarded-for': believed });
    expect(await keysWith(believed), 'the per-address limiter key names the believed address').not.toEqual([]);

    // Through nginx the client's header is replaced by the address nginx saw (127.0.0.1).
    await remoteLogin(nginx.baseUrl, user, { 'x-forwarded-for': forged });
    expect(await keysWith(forged), 'nginx passed a forged X-Forwarded-For on').toEqual([]);
  });

  it("answers its own errors with the contract's body: a body over 25 MB is refused before it is sent", async () => {
    // Only the Content-Length is sent: nginx refuses on the header, never reading a byte.
    const refused = await within(5000, 'an oversized request', new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const request = http.request(`${nginx.baseUrl}/api/profile/me/image`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(25 * 1024 * 1024 + 1) },
      });
      request.once('error', reject);
      request.once('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.once('end', () => {
          request.destroy();
          resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body });
        });
      });
      request.flushHeaders();
    }));
    expect(refused.status).toBe(413);
    expect(refused.type).toMatch(/^application\/json/);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'payload_too_large' });
  });

  it('keeps serving through the other instance when one is killed, and says 503 when none is left', async () => {
    const user = await createRemoteUser(nginx.baseUrl, 'ngxkill');
    await a.kill();
    const survivor = `127.0.0.1:${b.port}`;
    const ids = Array.from({ length: 8 }, (_, i) => `nginx-${tag}-after-kill-${i}`);
    for (const id of ids) {
      const res = await call(nginx.baseUrl, 'GET', '/api/auth/me', { token: user.token, headers: { 'x-request-id': id } });
      expect(res.status, res.text).toBe(200);
    }
    // A POST too, and a new WebSocket.
    await remoteLogin(nginx.baseUrl, user);
    const ws = await within(5000, 'WebSocket after the kill', connectWs(user, '/ws/chat'));
    ws.send({ type: 'ping' });
    await ws.ofType('pong', 2000);
    ws.close();

    await waitUntil(() => expect(ids.every((id) => b.output.includes(`"reqId":"${id}"`))).toBe(true), 3000);
    for (const id of ids) {
      const line = nginx.accessLog().split('\n').find((entry) => entry.includes(`rid=${id}`)) ?? '';
      expect(line, id).toContain(' 200 ');
      // The dead instance may have been tried first (then skipped): the answer came from B.
      expect(upstreamsOf(line).at(-1), id).toBe(survivor);
    }

    // With no instance left, nginx's own 503 in the contract's body.
    await b.kill();
    const down = await call(nginx.baseUrl, 'GET', '/api/health/live');
    expect(down.status).toBe(503);
    expect(down.headers.get('content-type')).toMatch(/^application\/json/);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.body).toMatchObject({ error: 'service_unavailable' });
  });
});
