import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** One SSE frame: `event:` line, optional `id:` line, one `data:` line of JSON (a string is taken as JSON text already), blank line. */
export function sseFrame(event: string, data: unknown, id?: string): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

export const KEEP_ALIVE_FRAME = ': keep-alive\n\n';

/** Chunks written to each response during this turn of the event loop, sent once its I/O callbacks ran. */
const pending = new Map<ServerResponse, string>();

/** A chunk as it goes on the wire: framed for the chunked encoding when the response uses it. */
function wireBytes(res: ServerResponse, chunk: string): Buffer {
  const data = Buffer.from(chunk, 'utf8');
  if (!res.chunkedEncoding) return data;
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF]);
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * Every response's chunk of the turn, written to its socket. A change goes to all its watchers
 * in the same turn, so most responses get the same chunk: it is encoded and framed once and
 * the same bytes are written to each socket (res.write would encode it once per response and
 * make each write four buffers: size, CRLF, data, CRLF).
 */
function flushAll(): void {
  const wire = new Map<string, Buffer>();
  for (const [res, chunk] of pending) {
    const socket = res.socket;
    // An empty chunk would be the chunked encoding's last one.
    // A client that hung up leaves a socket that is ended before the response turns destroyed.
    if (chunk === '' || !socket || socket.destroyed || !socket.writable || res.writableEnded || res.destroyed) continue;
    const key = res.chunkedEncoding ? chunk : `\0${chunk}`;
    let bytes = wire.get(key);
    if (!bytes) {
      bytes = wireBytes(res, chunk);
      wire.set(key, bytes);
    }
    socket.write(bytes);
  }
  pending.clear();
}

/**
 * Starts an event stream written with writeCoalesced: status line and headers go out now, so
 * the chunks after them can be written to the socket directly.
 */
export function beginCoalesced(res: ServerResponse, headers: OutgoingHttpHeaders): void {
  res.writeHead(200, headers);
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/**
 * Writes a chunk that leaves with the others written to this response in the same turn of the
 * event loop: one write (one chunk of the chunked encoding, one syscall) per response per
 * turn, however many changes arrived in it. Returns false while the socket's buffer is full
 * (its last write returned false and 'drain' has not come yet), as `write` would.
 */
export function writeCoalesced(res: ServerResponse, chunk: string): boolean {
  const earlier = pending.get(res);
  if (earlier === undefined && pending.size === 0) setImmediate(flushAll);
  pending.set(res, earlier === undefined ? chunk : earlier + chunk);
  return !(res.socket?.writableNeedDrain ?? false);
}

/** Calls `listener` once the response's socket has drained (writeCoalesced returned false). */
export function onCoalescedDrain(res: ServerResponse, listener: () => void): void {
  res.socket?.once('drain', listener);
}

/** Ends a response written with writeCoalesced, after what is still waiting for the turn's end. */
export function endCoalesced(res: ServerResponse): void {
  const chunk = pending.get(res);
  pending.delete(res);
  if (res.writableEnded || res.destroyed) return;
  if (chunk !== undefined) res.write(chunk);
  res.end();
}

/** Headers already on the reply that a hijacked response must carry itself (CORS, mostly). */
const COPIED_HEADERS = /^(access-control-|vary$)/i;

/** The headers of an event stream on a hijacked reply (hijacked replies skip onSend hooks). */
export function sseHeaders(request: FastifyRequest, reply: FastifyReply): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined && COPIED_HEADERS.test(name)) headers[name] = value;
  }
  return {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  };
}

/** The largest delay setTimeout accepts. */
const MAX_TIMER_MS = 2_147_483_647;

export interface SseWriterOptions {
  keepAliveMs: number;
  /** Bytes a client may leave unread before it is dropped as a slow consumer (it can resume). */
  maxBufferedBytes: number;
  /** Token expiry, epoch seconds: the stream ends with an `error` event then. */
  expiresAt: number;
}

/**
 * A hijacked response written as an event stream: keep-alive comments, the end at token expiry,
 * and a cut-off for clients that stop reading. Used by the chat streams (the presence stream has
 * its own, coalescing writer).
 */
export class SseWriter {
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseWriterOptions,
  ) {
    res.once('close', () => this.end());
  }

  get isOpen(): boolean {
    return !this.ended && !this.res.destroyed;
  }

  start(headers: OutgoingHttpHeaders): void {
    this.res.writeHead(200, headers);
    this.res.socket?.setNoDelay(true);
    this.keepAliveTimer = setInterval(() => this.write(KEEP_ALIVE_FRAME), this.options.keepAliveMs);
    this.keepAliveTimer.unref();
    const untilExpiry = this.options.expiresAt * 1000 - Date.now();
    this.expiryTimer = setTimeout(() => this.end('Token expired'), Math.min(Math.max(untilExpiry, 0), MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  write(chunk: string): void {
    if (!this.isOpen) return;
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      this.end('Slow consumer: reconnect to resume');
      return;
    }
    this.res.write(chunk);
  }

  /** Ends the stream, after an `error` event with `reason` when given. Idempotent. */
  end(reason?: string): void {
    if (this.ended) return;
    if (reason && !this.res.destroyed) this.res.write(sseFrame('error', { message: reason }));
    this.ended = true;
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.expiryTimer);
    this.onEnd?.();
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end();
  }

  /** Called once when the stream ends, however it ends. */
  onEnd: (() => void) | undefined;
}
