import type { Redis, Result } from 'ioredis';
import type { RoomState } from './room-registry.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    chatConnectedUsers(instancesKey: string, instanceKeyPrefix: string): Result<string[], Context>;
  }
}

/**
 * KEYS[1] a room's instance set; ARGV[1] the prefix of its per-instance hashes. The user ids of
 * every instance's hash (repeated when on several): one round trip, where SMEMBERS and then a
 * pipeline of HKEYS were two, and a pipeline object, for each room of every notification batch.
 * The hash keys are made inside the script, so not for Redis Cluster (nor is the rest here).
 */
const CONNECTED_USERS_LUA = `
local users = {}
for _, instance in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, field in ipairs(redis.call('HKEYS', ARGV[1] .. instance)) do users[#users + 1] = field end
end
return users`;

/**
 * Room occupancy: who is connected to a room, over all instances (whether a user is online at
 * all is the presence module's business). Each instance keeps its own hash of user id → local
 * socket count per room (`ws:room:{id}:inst:{instance}`), refreshed on a lease so a crashed
 * instance's entries expire by themselves, and the room's instance set says where to look.
 * A room nobody is connected to stays `idle` until its idle key expires.
 */
export class RoomOccupancyStore {
  constructor(
    private readonly redis: Redis,
    private readonly instanceId: string,
    private readonly leaseS: number,
    private readonly idleTimeoutS: number,
  ) {
    if (typeof redis.chatConnectedUsers !== 'function') redis.defineCommand('chatConnectedUsers', { numberOfKeys: 1, lua: CONNECTED_USERS_LUA });
  }

  async userJoined(roomId: number, userId: number): Promise<void> {
    const key = this.instanceKey(roomId);
    await this.redis
      .multi()
      .hincrby(key, String(userId), 1)
      .expire(key, this.leaseS)
      .sadd(instancesKey(roomId), this.instanceId)
      .expire(instancesKey(roomId), this.leaseS)
      .del(idleKey(roomId))
      .exec();
  }

  async userLeft(roomId: number, userId: number, lastLocalSocket: boolean, roomEmptyHere: boolean): Promise<void> {
    const key = this.instanceKey(roomId);
    const tx = this.redis.multi();
    if (lastLocalSocket) tx.hdel(key, String(userId));
    else tx.hincrby(key, String(userId), -1);
    if (roomEmptyHere) tx.srem(instancesKey(roomId), this.instanceId);
    await tx.exec();
    if (roomEmptyHere && (await this.connectedUserIds(roomId)).length === 0) {
      await this.redis.set(idleKey(roomId), String(Date.now()), 'EX', this.idleTimeoutS);
    }
  }

  /**
   * Renews the lease of every room this instance holds sockets in (one pipeline), and puts
   * back any local user missing from the room's hash: after a Redis restart (data gone) every
   * room's connected users are whole again within one upkeep interval. HSETNX leaves the
   * counts of fields still there alone.
   */
  async renew(rooms: readonly { roomId: number; userIds: readonly number[] }[]): Promise<void> {
    if (rooms.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { roomId, userIds } of rooms) {
      const key = this.instanceKey(roomId);
      for (const userId of userIds) pipeline.hsetnx(key, String(userId), 1);
      pipeline.expire(key, this.leaseS);
      pipeline.sadd(instancesKey(roomId), this.instanceId);
      pipeline.expire(instancesKey(roomId), this.leaseS);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  async connectedUserIds(roomId: number): Promise<number[]> {
    const fields = await this.redis.chatConnectedUsers(instancesKey(roomId), instanceKeyPrefix(roomId));
    return [...new Set(fields.map(Number))].sort((a, b) => a - b);
  }

  async state(roomId: number): Promise<{ state: RoomState; connectedUserIds: number[] }> {
    const connectedUserIds = await this.connectedUserIds(roomId);
    if (connectedUserIds.length > 0) return { state: 'active', connectedUserIds };
    const idle = await this.redis.exists(idleKey(roomId));
    return { state: idle ? 'idle' : 'closed', connectedUserIds };
  }

  /** Removes this instance's entries (clean shutdown). */
  async forgetInstance(roomIds: readonly number[]): Promise<void> {
    if (roomIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const roomId of roomIds) {
      pipeline.del(this.instanceKey(roomId));
      pipeline.srem(instancesKey(roomId), this.instanceId);
    }
    await pipeline.exec();
  }

  private instanceKey(roomId: number): string {
    return `${instanceKeyPrefix(roomId)}${this.instanceId}`;
  }
}

const instanceKeyPrefix = (roomId: number) => `ws:room:${roomId}:inst:`;
const instancesKey = (roomId: number) => `ws:room:${roomId}:instances`;
const idleKey = (roomId: number) => `ws:room:${roomId}:idle`;
