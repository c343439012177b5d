import type { FastifyBaseLogger } from 'fastify';
import type { PresenceStore } from './presence.store.ts';

export class PresenceService {
  constructor(
    private readonly store: PresenceStore,
    private readonly ttlS: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  get ttlSeconds(): number {
    return this.ttlS;
  }

  async markOnline(userId: number): Promise<void> {
    await this.store.setOnline(userId);
    await this.store.publish({ user_id: userId, is_online: true, last_seen_at: null });
    this.log.debug({ userId }, 'user online');
  }

  async markOffline(userId: number, at = new Date()): Promise<void> {
    await this.store.setOffline(userId, at);
    await this.store.publish({ user_id: userId, is_online: false, last_seen_at: at.toISOString() });
    this.log.debug({ userId }, 'user offline');
  }

  /** Online flags from Redis (the live view) for many users in one round trip. */
  onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>> {
    return this.store.onlineFlags(userIds);
  }

  /** Keeps the user online; a heartbeat after expiry brings them back online (and says so). */
  async heartbeat(userId: number): Promise<void> {
    const wasOnline = await this.store.refresh(userId);
    if (!wasOnline) await this.markOnline(userId);
  }
}
