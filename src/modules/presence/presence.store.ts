import type { Redis } from 'ioredis';
import type { UserService } from '../users/user.service.ts';
import {
  LAST_SEEN_TTL_S,
  lastSeenKey,
  ONLINE_EXPIRY_ZSET,
  ONLINE_USERS_SET,
  onlineKey,
  type PresenceChange,
  type PresenceRestamp,
} from './presence.keys.ts';

/**
 * The atomic claim of one expiry: only the caller that removes the user from `online_users`
 * wins, and only while the user has not come back online (a heartbeat or login re-created the
 * key). With several instances receiving the same keyspace event, exactly one gets a non-zero
 * answer: the time the key was due to expire (epoch ms), or -1 when that is unknown.
 * KEYS: online key, online set, last-seen key, expiry index. ARGV: user id, ISO time, last-seen TTL.
 */
const CLAIM_EXPIRED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local due = redis.call('ZSCORE', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
if due then return tonumber(due) end
return -1`;

type ExecResult = [Error | null, unknown][] | null;

function results(exec: ExecResult): unknown[] {
  if (!exec) throw new Error('redis transaction was aborted');
  return exec.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

export interface StoredStatus {
  isOnline: boolean;
  /** Last login/heartbeat while online, else the last-seen stamp (Redis, then MySQL). */
  lastActivity: Date | null;
}

/** Presence state: Redis is the live view (TTL keys), MySQL keeps is_online/last_seen_at. */
export class PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly users: UserService,
    private readonly ttlS: number,
    /** The deployment's presence channel (presenceChannel(db)). */
    readonly channel: string,
  ) {}

  /** Users online now, over all instances (the size of `online_users`). */
  onlineCount(): Promise<number> {
    return this.redis.scard(ONLINE_USERS_SET);
  }

  /** MySQL's copy of the state (is_online, last_seen_at when going offline); Redis is the live view. */
  async recordOnline(userId: number, isOnline: boolean, lastSeenAt?: Date): Promise<void> {
    await this.users.setOnline(userId, isOnline, lastSeenAt);
  }

  /**
   * Refreshes the TTL. False when the user had gone offline (logged out, or their expiry was
   * already claimed): they are not in `online_users` any more, so this heartbeat is a comeback.
   * A key that expired but whose expiry nobody claimed yet counts as still online: the claim
   * sees the fresh key and gives up, so friends never see a blip.
   */
  async refresh(userId: number): Promise<boolean> {
    const [, added] = results(
      await this.redis
        .multi()
        .set(onlineKey(userId), String(Date.now()), 'EX', this.ttlS)
        .sadd(ONLINE_USERS_SET, String(userId))
        .zadd(ONLINE_EXPIRY_ZSET, this.dueAt(), String(userId))
        .exec(),
    );
    return added === 0;
  }

  /** refresh() for many users in one pipelined round trip; returns those who had gone offline. */
  async refreshMany(userIds: readonly number[]): Promise<number[]> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const stamp = String(Date.now());
    const due = this.dueAt();
    for (const userId of userIds) {
      pipeline
        .set(onlineKey(userId), stamp, 'EX', this.ttlS)
        .sadd(ONLINE_USERS_SET, String(userId))
        .zadd(ONLINE_EXPIRY_ZSET, due, String(userId));
    }
    const values = results((await pipeline.exec()) as ExecResult);
    return userIds.filter((_, i) => values[i * 3 + 1] === 1);
  }

  /** Removes the live state and stamps last-seen in Redis; true when the user was online until now. */
  async clearOnline(userId: number, at: Date): Promise<boolean> {
    const [deleted, removed] = results(
      await this.redis
        .multi()
        .del(onlineKey(userId))
        .srem(ONLINE_USERS_SET, String(userId))
        .set(lastSeenKey(userId), at.toISOString(), 'EX', LAST_SEEN_TTL_S)
        .zrem(ONLINE_EXPIRY_ZSET, String(userId))
        .exec(),
    );
    return deleted === 1 || removed === 1;
  }

  /**
   * The Redis side of an expired `user:online:{id}`: true only for the one caller (over all
   * instances) that claimed it; that caller then records it in MySQL (recordExpired).
   */
  async claimExpired(userId: number, at: Date): Promise<{ claimed: boolean; dueAt: number | null }> {
    const answer = await this.redis.eval(
      CLAIM_EXPIRED_SCRIPT,
      4,
      onlineKey(userId),
      ONLINE_USERS_SET,
      lastSeenKey(userId),
      ONLINE_EXPIRY_ZSET,
      String(userId),
      at.toISOString(),
      String(LAST_SEEN_TTL_S),
    );
    const value = Number(answer);
    return { claimed: value !== 0, dueAt: value > 0 ? value : null };
  }

  /** Users whose online key was due to expire by `now` (from the expiry index), oldest first. */
  async dueOnlineUsers(now: number, limit: number): Promise<number[]> {
    const members = await this.redis.zrangebyscore(ONLINE_EXPIRY_ZSET, '-inf', now, 'LIMIT', 0, limit);
    return members.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0);
  }

  async nextDueAt(): Promise<number | null> {
    const [, score] = await this.redis.zrange(ONLINE_EXPIRY_ZSET, 0, 0, 'WITHSCORES');
    return score === undefined ? null : Number(score);
  }

  /** Moves index entries of users whose key is still alive to the key's real expiry (never earlier). */
  async reindexDue(userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    const read = this.redis.pipeline();
    for (const userId of userIds) read.pttl(onlineKey(userId));
    const ttls = results((await read.exec()) as ExecResult);
    const now = Date.now();
    const update = this.redis.pipeline();
    userIds.forEach((userId, i) => {
      const ttl = Number(ttls[i]);
      // XX: never re-add a user who logged out meanwhile; GT: never move an entry earlier.
      if (ttl > 0) update.zadd(ONLINE_EXPIRY_ZSET, 'XX', 'GT', now + ttl, String(userId));
    });
    results((await update.exec()) as ExecResult);
  }

  private dueAt(): number {
    return Date.now() + this.ttlS * 1000;
  }

  /** MySQL side of claimed expiries (one statement for all): is_online false, last_seen_at stamped. */
  async recordExpired(userIds: readonly number[], at: Date): Promise<void> {
    if (userIds.length === 0) return;
    await this.users.setOfflineMany(userIds, at);
    // A login racing with the claim may have written is_online=true before this write landed;
    // Redis is the truth, so put MySQL back for those online again by now.
    const flags = await this.onlineFlags(userIds);
    await Promise.all(userIds.filter((userId) => flags.get(userId)).map((userId) => this.users.setOnline(userId, true)));
  }

  /** Members of `online_users` whose online key is gone (expiries nobody handled), batch by batch. */
  async *orphanedOnlineUsers(batchSize = 500): AsyncGenerator<number[]> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(ONLINE_USERS_SET, cursor, 'COUNT', batchSize);
      cursor = next;
      const ids = members.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0);
      if (ids.length === 0) continue;
      const flags = await this.onlineFlags(ids);
      const orphaned = ids.filter((id) => !flags.get(id));
      if (orphaned.length > 0) yield orphaned;
    } while (cursor !== '0');
  }

  /** Online flags for many users in one pipelined round trip. */
  async onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>> {
    if (userIds.length === 0) return new Map();
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.exists(onlineKey(userId));
    const values = results((await pipeline.exec()) as ExecResult);
    return new Map(userIds.map((userId, i) => [userId, values[i] === 1]));
  }

  /** One user's state in one round trip (MySQL only when Redis no longer has a last-seen stamp). */
  async status(userId: number): Promise<StoredStatus> {
    const [onlineSince, lastSeen] = results(
      (await this.redis.pipeline().get(onlineKey(userId)).get(lastSeenKey(userId)).exec()) as ExecResult,
    ) as [string | null, string | null];
    if (onlineSince !== null) {
      const stamp = Number(onlineSince);
      return { isOnline: true, lastActivity: Number.isFinite(stamp) && stamp > 0 ? new Date(stamp) : new Date() };
    }
    if (lastSeen !== null && !Number.isNaN(Date.parse(lastSeen))) {
      return { isOnline: false, lastActivity: new Date(lastSeen) };
    }
    const user = await this.users.findById(userId);
    return { isOnline: false, lastActivity: user?.lastSeenAt ?? null };
  }

  /**
   * Returns the number of subscribers (over all instances) that received the change. Every
   * MySQL write of presence (recordOnline, recordExpired) is followed by one publication, sent
   * once that write has resolved: receivers drop cached profiles on it (PresenceHub.onStored).
   */
  publish(change: PresenceChange | PresenceRestamp): Promise<number> {
    return this.redis.publish(this.channel, JSON.stringify(change));
  }
}
