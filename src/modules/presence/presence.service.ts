import type { FastifyBaseLogger } from 'fastify';
import type { PresenceChange, PresenceRestamp } from './presence.keys.ts';
import type { PresenceStore, StoredStatus } from './presence.store.ts';

const REFRESH_BATCH = 1000;

/**
 * Presence of users: login/heartbeat/logout/expiry change it, and every change is published
 * once on Redis pub/sub so the SSE streams of every instance can push it to friends. Each
 * publication follows MySQL's write of is_online/last_seen_at, so it also tells every instance
 * that the user's row changed (PresenceHub.onStored: cached profiles drop it).
 */
export class PresenceService {
  constructor(
    private readonly store: PresenceStore,
    private readonly ttlS: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  get ttlSeconds(): number {
    return this.ttlS;
  }

  /** The pub/sub channel every change is published on. */
  get channel(): string {
    return this.store.channel;
  }

  /** Users online now, over all instances. */
  onlineCount(): Promise<number> {
    return this.store.onlineCount();
  }

  /** Login (or a heartbeat after going offline): online in Redis and MySQL, published. */
  async markOnline(userId: number): Promise<void> {
    const at = Date.now();
    await this.store.refresh(userId);
    await this.store.recordOnline(userId, true);
    await this.publish({ user_id: userId, is_online: true, last_seen_at: null, at });
    this.log.debug({ userId }, 'user online');
  }

  /**
   * Logout: offline in Redis and MySQL with last_seen_at stamped. Published as a change only
   * when the user was online until now, so an expiry already handled is not announced a second
   * time; otherwise as a restamp (MySQL's last_seen_at moved: cached profiles must drop it).
   */
  async markOffline(userId: number, at = new Date()): Promise<boolean> {
    const wasOnline = await this.store.clearOnline(userId, at);
    await this.store.recordOnline(userId, false, at);
    if (wasOnline) await this.publish({ user_id: userId, is_online: false, last_seen_at: at.toISOString(), at: at.getTime() });
    else await this.publish({ user_id: userId, restamped: true });
    this.log.debug({ userId, wasOnline }, 'user offline');
    return wasOnline;
  }

  /**
   * The heartbeat monitor's side of an expired `user:online:{id}`: true for the one caller
   * (over all instances) that claimed it and therefore recorded and published the change.
   */
  async expire(userId: number, at = new Date()): Promise<boolean> {
    return (await this.expireMany([userId], at)).has(userId);
  }

  /**
   * expire() for the users whose keys expired together: each is claimed on its own (atomic),
   * and the claimed ones are recorded in MySQL with one statement before their friends hear.
   * Returns the users this caller claimed.
   */
  async expireMany(userIds: readonly number[], at = new Date()): Promise<Set<number>> {
    const claims = await Promise.all(userIds.map(async (userId) => ({ userId, ...(await this.store.claimExpired(userId, at)) })));
    const claimed = claims.filter((claim) => claim.claimed);
    if (claimed.length === 0) return new Set();
    // The claims are made: friends must hear of them even if MySQL is briefly unavailable.
    await this.store.recordExpired(claimed.map((claim) => claim.userId), at).catch((error: unknown) => {
      this.log.error({ err: error, userIds: claimed.map((claim) => claim.userId) }, 'could not record expired presences in MySQL');
    });
    // `at` of the change is when the user actually went offline: the moment the key was due to expire.
    await Promise.all(
      claimed.map(({ userId, dueAt }) => this.publish({ user_id: userId, is_online: false, last_seen_at: at.toISOString(), at: dueAt ?? at.getTime() })),
    );
    this.log.debug({ userIds: claimed.map((claim) => claim.userId) }, 'users offline: heartbeat expired');
    return new Set(claimed.map((claim) => claim.userId));
  }

  /** Keeps the user online; a heartbeat after going offline brings them back online (and says so). */
  async heartbeat(userId: number): Promise<void> {
    const wasOnline = await this.store.refresh(userId);
    if (!wasOnline) await this.markOnline(userId);
  }

  /**
   * heartbeat() for many users (e.g. everyone with an open WebSocket on this instance) in one
   * pipelined call per 1,000 users; only comebacks touch MySQL and are published.
   */
  async refreshMany(userIds: readonly number[]): Promise<void> {
    const unique = [...new Set(userIds)];
    for (let i = 0; i < unique.length; i += REFRESH_BATCH) {
      const cameBack = await this.store.refreshMany(unique.slice(i, i + REFRESH_BATCH));
      await Promise.all(cameBack.map((userId) => this.markOnline(userId)));
    }
  }

  /** Online flags from Redis (the live view) for many users in one round trip. */
  onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>> {
    return this.store.onlineFlags(userIds);
  }

  status(userId: number): Promise<StoredStatus> {
    return this.store.status(userId);
  }

  dueOnlineUsers(now: number, limit: number): Promise<number[]> {
    return this.store.dueOnlineUsers(now, limit);
  }

  /** When the next indexed online key is due to expire (epoch ms), or null when none is indexed. */
  nextDueAt(): Promise<number | null> {
    return this.store.nextDueAt();
  }

  /** Re-indexes users whose key is still alive by its real remaining TTL. */
  reindexDue(userIds: readonly number[]): Promise<void> {
    return this.store.reindexDue(userIds);
  }

  /** Users left in `online_users` without an online key: expiries no instance handled. */
  orphanedOnlineUsers(): AsyncGenerator<number[]> {
    return this.store.orphanedOnlineUsers();
  }

  private async publish(change: PresenceChange | PresenceRestamp): Promise<void> {
    await this.store.publish(change);
  }
}
