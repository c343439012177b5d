import type { Redis } from 'ioredis';
import type { UserStore } from '../users/user.store.ts';
import {
  LAST_SEEN_TTL_S,
  lastSeenKey,
  ONLINE_USERS_SET,
  onlineKey,
  PRESENCE_CHANNEL,
  type PresenceChange,
} from './presence.keys.ts';

/** Presence state: Redis is the live view (TTL keys), MySQL keeps is_online/last_seen_at. */
export class PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly users: UserStore,
    private readonly ttlS: number,
  ) {}

  async setOnline(userId: number): Promise<void> {
    await this.redis
      .multi()
      .set(onlineKey(userId), String(Date.now()), 'EX', this.ttlS)
      .sadd(ONLINE_USERS_SET, String(userId))
      .exec();
    await this.users.setOnline(userId, true);
  }

  /** Refreshes the TTL; false when the key had already expired (the user was offline). */
  async refresh(userId: number): Promise<boolean> {
    const results = await this.redis
      .multi()
      .set(onlineKey(userId), String(Date.now()), 'EX', this.ttlS, 'GET')
      .sadd(ONLINE_USERS_SET, String(userId))
      .exec();
    return results?.[0]?.[1] !== null;
  }

  async setOffline(userId: number, at: Date): Promise<void> {
    await this.redis
      .multi()
      .del(onlineKey(userId))
      .srem(ONLINE_USERS_SET, String(userId))
      .set(lastSeenKey(userId), at.toISOString(), 'EX', LAST_SEEN_TTL_S)
      .exec();
    await this.users.setOnline(userId, false, at);
  }

  /** Online flags for many users in one pipelined round trip. */
  async onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>> {
    if (userIds.length === 0) return new Map();
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.exists(onlineKey(userId));
    const results = (await pipeline.exec()) ?? [];
    return new Map(userIds.map((userId, i) => [userId, results[i]?.[1] === 1]));
  }

  async publish(change: PresenceChange): Promise<void> {
    await this.redis.publish(PRESENCE_CHANNEL, JSON.stringify(change));
  }
}
