import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DomainEvent } from '../lib/domain-events.ts';

/**
 * Each room's recent events, kept in a Redis stream by whichever instance publishes them, so a
 * client that reconnects to any instance resumes where it stopped (contract: Events and recovery).
 *
 * The stream entry id is the event's `event_id`: Redis gives it out atomically and increasing
 * within the room. Publishing appends to the stream and publishes on the event channel in one
 * script, so every live copy of an event carries the id it has in history. A stream is trimmed
 * to about `size` entries (MAXLEN ~) and expires `ttlS` after its last event.
 *
 * Redis streams give what recovery needs without extra bookkeeping (Centrifugo keeps an epoch
 * for the same purpose): `max-deleted-entry-id` tells whether events after a cursor were trimmed,
 * and the first entry tells whether a cursor is older than the stream itself (a stream that
 * expired, or was lost with Redis, starts again above every id it had).
 */
export const roomEventsKey = (roomId: number) => `room:{${roomId}}:events`;

/** Appends ARGV[2] (event JSON) to stream KEYS[1], then publishes it with its id on channel ARGV[4]. */
const APPEND_AND_PUBLISH = `
if KEYS[2] and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[5]) then return false end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], '{"event_id":"' .. id .. '",' .. string.sub(ARGV[2], 2))
return id`;

/**
 * The batch form: event i is ARGV[4 + 2i - 1] (JSON) with ARGV[4 + 2i] '1' when it is published
 * only once per key KEYS[2i] (for ARGV[4] seconds), appended to stream KEYS[2i - 1]. Every event
 * appended goes out in ONE publication: the event itself when it is alone, else a JSON array of
 * them in append order. Returns each event's id, or 0 for one whose key was already taken.
 */
const APPEND_AND_PUBLISH_MANY = `
local out, frames = {}, {}
for i = 1, #KEYS / 2 do
  local json = ARGV[3 + 2 * i]
  if ARGV[4 + 2 * i] == '1' and not redis.call('SET', KEYS[2 * i], '1', 'NX', 'EX', ARGV[4]) then
    out[i] = 0
  else
    local id = redis.call('XADD', KEYS[2 * i - 1], 'MAXLEN', '~', ARGV[1], '*', 'e', json)
    redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[2])
    frames[#frames + 1] = '{"event_id":"' .. id .. '",' .. string.sub(json, 2)
    out[i] = id
  end
end
if #frames == 1 then redis.call('PUBLISH', ARGV[3], frames[1]) end
if #frames > 1 then redis.call('PUBLISH', ARGV[3], '[' .. table.concat(frames, ',') .. ']') end
return out`;

const MANY_SHA = createHash('sha1').update(APPEND_AND_PUBLISH_MANY).digest('hex');

/** One event of a batch for `appendAndPublishMany`. */
export interface HistoryAppend {
  roomId: number;
  eventJson: string;
  /** Published only when no event with this key was published in the last `ttlS` seconds. */
  onceKey?: string | undefined;
}

const EVENT_ID = /^(\d{1,16})-(\d{1,16})$/;

/** Whether `value` has the shape of an event id (a stream entry id). */
export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}

/** Compares two event ids of one room: negative when `a` is older. */
export function compareEventIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}

export type Recovery = { kind: 'events'; events: DomainEvent[] } | { kind: 'reset' };

export interface HistoryOptions {
  size: number;
  ttlS: number;
}

type StreamEntry = [id: string, fields: string[]];

export class EventHistory {
  constructor(
    private readonly redis: Redis,
    private readonly options: HistoryOptions,
  ) {}

  /**
   * Appends `eventJson` (a serialised domain event) and publishes it; with `onceKey`, only when no event with that key was published in the
   * last `onceTtlS` seconds (null then). Returns the event id.
   */
  async appendAndPublish(roomId: number, eventJson: string, channel: string, once?: { key: string; ttlS: number }): Promise<string | null> {
    const keys = once ? [roomEventsKey(roomId), once.key] : [roomEventsKey(roomId)];
    const args = [String(this.options.size), eventJson, String(this.options.ttlS), channel, String(once?.ttlS ?? 0)];
    const id = await this.redis.eval(APPEND_AND_PUBLISH, keys.length, ...keys, ...args);
    return typeof id === 'string' ? id : null;
  }

  /**
   * Appends and publishes several events (of any rooms) in one script and one publication;
   * returns each one's event id, null for one whose `onceKey` was taken (`onceTtlS` seconds).
   * The script names keys of several rooms, so it needs one Redis (not a Cluster).
   */
  async appendAndPublishMany(events: readonly HistoryAppend[], channel: string, onceTtlS: number): Promise<(string | null)[]> {
    const keys = events.flatMap((event) => [roomEventsKey(event.roomId), event.onceKey ?? roomEventsKey(event.roomId)]);
    const args = events.flatMap((event) => [event.eventJson, event.onceKey === undefined ? '0' : '1']);
    const argv = [...keys, String(this.options.size), String(this.options.ttlS), channel, String(onceTtlS), ...args];
    const ids = (await this.redis.evalsha(MANY_SHA, keys.length, ...argv).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(APPEND_AND_PUBLISH_MANY, keys.length, ...argv);
    })) as unknown[];
    return events.map((_, i) => (typeof ids[i] === 'string' ? ids[i] : null));
  }

  /**
   * The room's events after `since`, oldest first, or `reset` when some of them are no longer
   * kept: trimmed, expired with a quiet room, lost with Redis, or `since` is not of this stream.
   * One MULTI, so the stream's bounds and its entries are read at one instant.
   */
  async after(roomId: number, since: string): Promise<Recovery> {
    if (!isEventId(since)) return { kind: 'reset' };
    const read = await this.read(roomId, `(${since}`);
    if (read === 'failed' || read.info === undefined || !this.covers(read.info, since)) return { kind: 'reset' };
    return { kind: 'events', events: read.events };
  }

  /**
   * The stream's bounds (XINFO; undefined when the stream does not exist) and its entries from
   * `start` on, in one MULTI, so both are read at one instant; 'failed' when the read failed.
   */
  private async read(roomId: number, start: string): Promise<{ info: Map<string, unknown> | undefined; events: DomainEvent[] } | 'failed'> {
    const key = roomEventsKey(roomId);
    const [info, range] = (await this.redis.multi().xinfo('STREAM', key).xrange(key, start, '+').exec()) ?? [];
    if (!info || !range || range[0]) return 'failed';
    const events = (range[1] as StreamEntry[]).flatMap(([id, fields]) => toEvent(id, fields));
    return { info: info[0] ? undefined : streamInfo(info[1]), events };
  }

  /** Redis's clock in milliseconds: the clock event ids come from. */
  async nowMs(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /**
   * The room's events from Redis time `fromMs` on (for a cursor that covers many rooms, see
   * the user event stream), or `reset` when some of them were trimmed or the cursor is older
   * than the history's lifetime. A room without history had no event in the last `ttlS`.
   */
  async fromTime(roomId: number, fromMs: number): Promise<Recovery> {
    const start = `${fromMs}-0`;
    const read = await this.read(roomId, start);
    if (read === 'failed') return { kind: 'reset' };
    if (read.info === undefined) {
      // No stream: nothing happened there since it expired, unless the cursor predates that.
      return Date.now() - fromMs < this.options.ttlS * 1000 ? { kind: 'events', events: [] } : { kind: 'reset' };
    }
    const maxDeleted = read.info.get('max-deleted-entry-id');
    if (typeof maxDeleted === 'string' && maxDeleted !== '0-0' && compareEventIds(maxDeleted, start) >= 0) return { kind: 'reset' };
    return { kind: 'events', events: read.events };
  }

  /** Whether every event of the stream after `since` is still in it. */
  private covers(info: Map<string, unknown>, since: string): boolean {
    const last = info.get('last-generated-id');
    const maxDeleted = info.get('max-deleted-entry-id');
    const first = info.get('first-entry');
    if (typeof last !== 'string' || compareEventIds(since, last) > 0) return false;
    if (typeof maxDeleted === 'string' && maxDeleted !== '0-0') return compareEventIds(since, maxDeleted) >= 0;
    // Nothing trimmed yet: `since` must be one of this stream's own events (or later).
    const firstId = Array.isArray(first) && typeof first[0] === 'string' ? first[0] : last;
    return compareEventIds(since, firstId) >= 0;
  }
}

/** XINFO STREAM's flat [name, value, ...] reply as a map. */
function streamInfo(reply: unknown): Map<string, unknown> {
  const info = new Map<string, unknown>();
  if (!Array.isArray(reply)) return info;
  for (let i = 0; i + 1 < reply.length; i += 2) info.set(String(reply[i]), reply[i + 1]);
  return info;
}

function toEvent(id: string, fields: string[]): DomainEvent[] {
  const json = fields[fields.indexOf('e') + 1];
  if (json === undefined) return [];
  try {
    const event = JSON.parse(json) as DomainEvent & { published_at?: number };
    // The publisher's timestamp is for live delivery lag only.
    delete event.published_at;
    return [{ ...event, event_id: id }];
  } catch {
    return [];
  }
}
