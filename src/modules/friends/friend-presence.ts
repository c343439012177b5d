import type { Redis } from 'ioredis';
import { lastSeenKey, onlineKey } from '../presence/presence.keys.ts';

/** Friends' live state, in the order asked: online now, and the last-seen stamp Redis holds (null: none there). */
export interface LiveStates {
  online: boolean[];
  lastSeen: (Date | null)[];
}

export interface FriendPresence {
  liveStates(userIds: readonly number[]): Promise<LiveStates>;
}

/**
 * Reads the presence keys of the contract (`user:online:{id}`, `user:last_seen:{id}`, written by
 * the presence module) for a whole friend list in one MGET: one command, where a pipeline of
 * one EXISTS per friend cost ioredis a command object, a reply and a promise each. Keys on
 * different slots, so not for Redis Cluster.
 */
export class RedisFriendPresence implements FriendPresence {
  constructor(private readonly redis: Redis) {}

  async liveStates(userIds: readonly number[]): Promise<LiveStates> {
    if (userIds.length === 0) return { online: [], lastSeen: [] };
    const keys = new Array<string>(userIds.length * 2);
    userIds.forEach((id, i) => {
      keys[i] = onlineKey(id);
      keys[userIds.length + i] = lastSeenKey(id);
    });
    const values = await this.redis.mget(keys);
    const online = userIds.map((_, i) => values[i] !== null && values[i] !== undefined);
    const lastSeen = userIds.map((_, i) => stampOf(values[userIds.length + i]));
    return { online, lastSeen };
  }
}

function stampOf(value: string | null | undefined): Date | null {
  if (!value) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : new Date(at);
}
