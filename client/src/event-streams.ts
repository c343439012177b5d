import type { ServerFrames } from './frames.ts';

/** The part of the EventSource API the SDK uses: the browser's, or the `eventsource` package's in Node. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: { data?: unknown; lastEventId?: string }) => void): void;
  close(): void;
}

/** An EventSource class: the browser's, or the `eventsource` package's (used through EventSourceLike). */
export type EventSourceConstructor = new (url: string) => object;

export interface StreamOptions {
  baseUrl: string;
  /** Sent as `?token=` (EventSource cannot set headers); the `jwt_token` cookie also works same-origin. */
  token?: string;
  /** Defaults to the global EventSource (browsers); pass the `eventsource` package's in Node. */
  EventSource?: EventSourceConstructor;
}

type Handler<T> = (data: T) => void;

const CLOSED = 2;

/**
 * An SSE stream of the server. EventSource reconnects by itself and sends the last `id:` it saw
 * as Last-Event-ID, which the server resumes from (or answers with `reset` for a room whose
 * events are no longer kept). Each handler gets the event's JSON data.
 */
class EventStream<Events extends Record<string, unknown>> {
  private readonly source: EventSourceLike;
  private readonly handlers = new Map<string, Set<Handler<never>>>();

  constructor(path: string, options: StreamOptions) {
    const impl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!impl) throw new Error('No EventSource implementation: pass one as options.EventSource (e.g. the eventsource package in Node)');
    const query = options.token ? `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(options.token)}` : '';
    this.source = new impl(`${options.baseUrl}${path}${query}`) as EventSourceLike;
    this.source.addEventListener('error', () => {
      // CLOSED: the server refused the stream (401/403/404/429); otherwise EventSource retries.
      this.dispatch('stream_error', { closed: this.source.readyState === CLOSED });
    });
  }

  /** `type` is an SSE event name (the frame type); `stream_error` reports lost or refused connections. */
  on<K extends keyof Events & string>(type: K, handler: Handler<Events[K]>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
      if (type !== 'stream_error') {
        this.source.addEventListener(type, (event) => {
          if (typeof event.data !== 'string') return;
          try {
            this.dispatch(type, JSON.parse(event.data) as Events[K]);
          } catch {
            // Not JSON: not an event of this protocol.
          }
        });
      }
    }
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  close(): void {
    this.source.close();
  }

  private dispatch(type: string, data: unknown): void {
    for (const handler of this.handlers.get(type) ?? []) (handler as Handler<unknown>)(data);
  }
}

type StreamErrors = { stream_error: { closed: boolean } };
type RoomEvents = Omit<ServerFrames, 'ack' | 'error' | 'pong' | 'presence' | 'presence_snapshot' | 'notification'>;

/** `GET /api/messages/stream/:room_id`: one room's events (the socket's frames), then `joined`. */
export class RoomStream extends EventStream<RoomEvents & StreamErrors & { connected: { room_id: number } }> {
  constructor(roomId: number, options: StreamOptions) {
    super(`/api/messages/stream/${roomId}`, options);
  }
}

/** `GET /api/events/stream`: all my rooms, notifications and friends' presence. */
export class UserStream extends EventStream<
  Omit<ServerFrames, 'ack' | 'pong' | 'joined'> & StreamErrors & { connected: { room_ids: number[]; recovered: boolean } }
> {
  constructor(options: StreamOptions) {
    super('/api/events/stream', options);
  }
}

/** `GET /api/online-status/stream`: friends' presence (`connected`, then `status` per friend and change). */
export class PresenceStream extends EventStream<
  StreamErrors & { connected: { message: string; friend_ids: number[] }; status: { user_id: number; is_online: boolean } }
> {
  constructor(options: StreamOptions) {
    super('/api/online-status/stream', options);
  }
}
