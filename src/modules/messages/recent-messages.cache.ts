import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UnsignedMessageView } from './message.view.ts';

/** The newest messages served from Redis. */
export const RECENT_CACHE_SIZE = 20;
/** One more than served, so a full first page still knows whether older messages exist. */
const LIST_LENGTH = RECENT_CACHE_SIZE + 1;
/**
 * A list lives this long after the read that filled it, however many messages are pushed onto
 * it meanwhile (a push never extends it). That bounds the one staleness no version check can
 * see: a message stored while its write-through was lost (the process died in between, or a
 * push failed and the list could not be dropped either) is missing from the list until the
 * list expires and the next read fills it from the store.
 */
export const LIST_TTL_S = 60;
const VERSION_TTL_S = 86_400;

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

/**
 * `{id}` is a hash tag: both keys of a room live in one Redis Cluster slot, as the scripts need.
 * `:v3`: entries carry the message's `seq` (and `version`), and are keyed by `seq`; lists
 * written before it are never read.
 */
export const recentKey = (roomId: number) => `room:{${roomId}}:recent:v3`;
export const recentVersionKey = (roomId: number) => `room:{${roomId}}:recent:ver`;

/**
 * Write-through on send. The list exists only when it holds the room's newest messages
 * (up to LIST_LENGTH), newest first; each entry is "<sortKey>|<message JSON>".
 * Bumps the version; pushes only onto an existing list and only a message newer than its head;
 * an entry already there is left alone; an older, missing one drops the list. The list keeps
 * the expiry its fill gave it (LPUSH and LTRIM leave a key's TTL alone).
 */
const PUSH_SCRIPT = script(`
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
for i = 3, #ARGV, 2 do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then return 0 end
  local headKey = string.sub(head, 1, string.find(head, '|', 1, true) - 1)
  if ARGV[i] > headKey then
    redis.call('LPUSH', KEYS[1], ARGV[i + 1])
  else
    local prefix, found = ARGV[i] .. '|', false
    for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
      if string.sub(item, 1, #prefix) == prefix then found = true; break end
    end
    if not found then
      redis.call('DEL', KEYS[1])
      return 3
    end
  end
end
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
return 1
`);

interface QueuedPush {
  message: UnsignedMessageView;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Fills the list from a store read, unless any write happened since `version` was read. */
const FILL_SCRIPT = script(`
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if #ARGV > 2 then
  redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
`);

export interface CachedPage {
  /** Each message already serialised as JSON, newest first. */
  messageJson: string[];
  hasMore: boolean;
  /** The `seq` of the page's oldest message (for the next cursor). */
  oldestSeq: number | undefined;
}

export interface FreshPage {
  /** Newest first, at most LIST_LENGTH. */
  messages: UnsignedMessageView[];
  /** True when the room holds more messages than `messages`. */
  hasMore: boolean;
}

/**
 * `room:{id}:recent`: the newest messages of a room, for the first page of history.
 *
 * Correctness before hit rate: every write bumps `room:{id}:recent:ver`, and a reader only
 * fills the list when the version is still the one it saw before reading the store, so a
 * stale read can never be cached over a newer write. Edits, deletions and reactions drop the
 * list; the next first-page read fills it again. A push that fails is followed by a drop (see
 * MessageService), and a list never outlives LIST_TTL_S after its fill.
 *
 * Entries never hold signed attachment URLs: those are per reader and expire, so a cached one
 * would be served stale or to the wrong reader. An entry keeps its attachment's metadata only,
 * and MessageService signs it for the reader on the way out (MessageAttachments.signJson).
 */
export class RecentMessagesCache {
  /** Pushes of this tick, by room: one script per room (see push). */
  private queued = new Map<number, QueuedPush[]>();

  constructor(
    private readonly redis: Redis,
    private readonly sortKey: (message: UnsignedMessageView) => string,
  ) {}

  /** The newest `limit` (<= RECENT_CACHE_SIZE) messages, from Redis, else from `load` (then cached). */
  async firstPage(roomId: number, limit: number, load: (count: number) => Promise<FreshPage>): Promise<CachedPage> {
    // A hit needs the list alone: one command, sent with the other requests' (auto-pipelining).
    const items = await this.redis.lrange(recentKey(roomId), 0, limit);
    if (items.length > 0) {
      // Served as stored: the JSON is spliced into the response without parsing it again, and
      // the cursor's seq is the oldest entry's sort key (its prefix), not a parse of its JSON.
      const served = items.slice(0, limit);
      const oldest = served.at(-1);
      return { messageJson: served.map(messageJsonOf), hasMore: items.length > limit, oldestSeq: oldest === undefined ? undefined : seqOf(oldest) };
    }
    // Read before the store is: a write after it changes it, and the fill then leaves the list alone.
    const version = (await this.redis.get(recentVersionKey(roomId))) ?? '';
    const fresh = await load(LIST_LENGTH);
    if (fresh.messages.length > 0) await this.fill(roomId, version, fresh.messages);
    const page = fresh.messages.slice(0, limit);
    return {
      messageJson: page.map((message) => JSON.stringify(message)),
      hasMore: fresh.hasMore || fresh.messages.length > limit,
      oldestSeq: page.at(-1)?.seq,
    };
  }

  /**
   * After a send: the message joins the list when the list is live. The pushes of one tick to
   * a room (a stored group of messages) are one script, oldest first; each caller learns how
   * that script went.
   */
  push(message: UnsignedMessageView): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.queued.size === 0) setImmediate(() => this.flush());
      const room = this.queued.get(message.room_id);
      if (room) room.push({ message, resolve, reject });
      else this.queued.set(message.room_id, [{ message, resolve, reject }]);
    });
  }

  private flush(): void {
    const rooms = this.queued;
    this.queued = new Map();
    for (const [roomId, pushes] of rooms) void this.pushAll(roomId, pushes);
  }

  private async pushAll(roomId: number, pushes: QueuedPush[]): Promise<void> {
    const keyed = pushes.map((push) => ({ push, key: this.sortKey(push.message) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    try {
      await this.run(
        PUSH_SCRIPT,
        recentKey(roomId),
        recentVersionKey(roomId),
        String(LIST_LENGTH),
        String(VERSION_TTL_S),
        ...keyed.flatMap(({ push, key }) => [key, `${key}|${JSON.stringify(push.message)}`]),
      );
      for (const { resolve } of pushes) resolve();
    } catch (error) {
      for (const { reject } of pushes) reject(error);
    }
  }

  /** After an edit, deletion or reaction: the list is dropped. */
  async invalidate(roomId: number): Promise<void> {
    await this.redis
      .multi()
      .incr(recentVersionKey(roomId))
      .expire(recentVersionKey(roomId), VERSION_TTL_S)
      .del(recentKey(roomId))
      .exec();
  }

  /** The room is gone. */
  async drop(roomId: number): Promise<void> {
    await this.redis.del(recentKey(roomId), recentVersionKey(roomId));
  }

  private async fill(roomId: number, version: string, messages: UnsignedMessageView[]): Promise<void> {
    await this.run(
      FILL_SCRIPT,
      recentKey(roomId),
      recentVersionKey(roomId),
      version,
      String(LIST_TTL_S),
      ...messages.map((message) => this.entry(message)),
    );
  }

  /** EVALSHA, loading the script on first use (and after a Redis restart). */
  private async run(script: Script, listKey: string, versionKey: string, ...args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, 2, listKey, versionKey, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(script.source, 2, listKey, versionKey, ...args);
    }
  }

  private entry(message: UnsignedMessageView): string {
    return `${this.sortKey(message)}|${JSON.stringify(message)}`;
  }
}

function messageJsonOf(entry: string): string {
  return entry.slice(entry.indexOf('|') + 1);
}

/** An entry's sort key is its message's seq, zero-padded (sortKey in store/message-store.ts). */
function seqOf(entry: string): number {
  return Number(entry.slice(0, entry.indexOf('|')));
}
