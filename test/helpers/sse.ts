import http from 'node:http';

/** One dispatched server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
  /** Date.now() when the event was complete. */
  receivedAt: number;
}

export interface SseComment {
  text: string;
  receivedAt: number;
}

export interface SseOptions {
  headers?: Record<string, string>;
  /** How long to wait for the response headers. */
  timeoutMs?: number;
}

/**
 * Incremental parser for the `text/event-stream` format (WHATWG HTML §9.2): lines end with
 * CRLF, LF or CR; `:` starts a comment; a blank line dispatches the event; `data` lines join
 * with "\n"; one leading space after the colon is dropped.
 */
export class SseParser {
  private buffer = '';
  private pendingCr = false;
  private event = '';
  private data: string[] = [];
  private hasData = false;
  private id: string | undefined;

  constructor(
    private readonly onEvent: (event: Omit<SseEvent, 'receivedAt'>) => void,
    private readonly onComment: (text: string) => void = () => {},
  ) {}

  push(chunk: string): void {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i += 1) {
      const char = this.buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      this.line(this.buffer.slice(start, i));
      if (char === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === '\n') i += 1;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.hasData) this.onEvent({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      this.event = '';
      this.data = [];
      this.hasData = false;
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'id' && !value.includes('\0')) this.id = value;
    // `retry` and unknown fields are ignored.
  }
}

/** A live SSE connection: every event and comment is recorded; wait for the ones you expect. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: SseComment[] = [];
  readonly closed: Promise<void>;
  private waiters = new Set<() => void>();
  private ended = false;

  constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly request: http.ClientRequest,
    response: http.IncomingMessage,
  ) {
    const parser = new SseParser(
      (event) => {
        this.events.push({ ...event, receivedAt: Date.now() });
        this.notify();
      },
      (text) => {
        this.comments.push({ text, receivedAt: Date.now() });
        this.notify();
      },
    );
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => parser.push(chunk));
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.notify();
        resolve();
      };
      response.once('end', done);
      response.once('close', done);
      response.once('error', done);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Index to pass as `from`: only events received after this point are considered. */
  mark(): number {
    return this.events.length;
  }

  /** Events named `name`, with their JSON data, optionally from index `from`. */
  dataOf<T = Record<string, unknown>>(name: string, from = 0): T[] {
    return this.events
      .slice(from)
      .filter((event) => event.event === name)
      .map((event) => JSON.parse(event.data) as T);
  }

  /** The first event (at index ≥ from) matching; waits for it up to timeoutMs. */
  waitFor(predicate: (event: SseEvent) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<SseEvent> {
    const from = options.from ?? 0;
    const find = () => this.events.slice(from).find(predicate);
    return this.until(find, options.timeoutMs ?? 5000, 'event');
  }

  /** Waits for the next `status` event about userId with the given state. */
  waitForStatus(userId: number, isOnline: boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<SseEvent> {
    return this.waitFor((event) => {
      if (event.event !== 'status') return false;
      const data = JSON.parse(event.data) as { user_id?: number; is_online?: boolean };
      return data.user_id === userId && data.is_online === isOnline;
    }, options);
  }

  /** Waits until at least `count` events have arrived. */
  waitForCount(count: number, timeoutMs = 5000): Promise<SseEvent[]> {
    return this.until(() => (this.events.length >= count ? this.events.slice(0, count) : undefined), timeoutMs, `${count} events`);
  }

  waitForComment(predicate: (comment: SseComment) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<SseComment> {
    const from = options.from ?? 0;
    return this.until(() => this.comments.slice(from).find(predicate), options.timeoutMs ?? 5000, 'comment');
  }

  close(): void {
    this.request.destroy();
  }

  private until<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = find();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (this.ended) {
          cleanup();
          reject(new Error(`stream closed while waiting for ${what}; got ${JSON.stringify(this.events.map((e) => [e.event, e.data]))}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.events.map((e) => [e.event, e.data]))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** A response that was not an event stream (e.g. a 401 JSON error). */
export interface SseRefusal {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Opens `GET url` as an event stream. Resolves with an SseClient once a 200 text/event-stream
 * response starts, or with the status and full body of anything else.
 */
export function openSse(url: string, options: SseOptions = {}): Promise<SseClient | SseRefusal> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...options.headers }, agent: false });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no response from ${url} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.once('response', (response) => {
      clearTimeout(timer);
      const status = response.statusCode ?? 0;
      if (status === 200 && String(response.headers['content-type']).startsWith('text/event-stream')) {
        resolve(new SseClient(status, response.headers, request, response));
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.once('end', () => resolve({ status, headers: response.headers, body }));
    });
  });
}

/** openSse that insists on a stream. */
export async function connectSse(url: string, options: SseOptions = {}): Promise<SseClient> {
  const result = await openSse(url, options);
  if (!(result instanceof SseClient)) throw new Error(`expected an event stream, got ${result.status}: ${result.body}`);
  return result;
}
