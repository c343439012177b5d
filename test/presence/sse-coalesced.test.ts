import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { beginCoalesced, endCoalesced, onCoalescedDrain, writeCoalesced } from '../../src/lib/sse.ts';

/** The coalescing writer of the presence streams writes framed chunks to the socket itself. */
let server: http.Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A server whose one response is handed to the test, and a client request to it. */
async function exchange(): Promise<{ res: ServerResponse; response: IncomingMessage }> {
  let resolveRes: (res: ServerResponse) => void = () => {};
  const served = new Promise<ServerResponse>((resolve) => (resolveRes = resolve));
  server = http.createServer((_req, res) => resolveRes(res));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const responded = new Promise<IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port, path: '/', agent: false }, resolve).on('error', reject));
  const res = await served;
  beginCoalesced(res, { 'content-type': 'text/event-stream' });
  return { res, response: await responded };
}

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));
    response.on('end', () => resolve(body));
    response.on('error', reject);
  });
}

describe('writeCoalesced', () => {
  it('sends the chunks of a turn as one chunk of the chunked encoding, multi-byte text intact, then ends', async () => {
    const { res, response } = await exchange();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    const body = readAll(response);
    writeCoalesced(res, 'data: é\n\n');
    writeCoalesced(res, 'data: 😀\n\n');
    await nextTurn();
    writeCoalesced(res, 'data: last\n\n');
    endCoalesced(res);
    expect(await body).toBe('data: é\n\ndata: 😀\n\ndata: last\n\n');
  });

  it('says when the client stops reading and calls back once its socket drained', async () => {
    const { res, response } = await exchange();
    response.pause();
    const chunk = `data: ${'x'.repeat(256 * 1024)}\n\n`;
    let written = 0;
    for (let turn = 0; turn < 400; turn += 1) {
      written += 1;
      if (!writeCoalesced(res, chunk)) break;
      await nextTurn();
    }
    expect(writeCoalesced(res, '')).toBe(false);
    const drained = new Promise<void>((resolve) => onCoalescedDrain(res, resolve));
    const body = readAll(response);
    response.resume();
    await drained;
    endCoalesced(res);
    expect((await body).length).toBe(written * chunk.length);
  });
});
