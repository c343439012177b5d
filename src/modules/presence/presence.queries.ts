import { forbidden, notFound } from '../../lib/errors.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import type { UserService } from '../users/user.service.ts';
import type { PresenceFriendStore } from './presence.friends.ts';
import type { FriendStatus, UserStatusResponse } from './presence.schemas.ts';
import type { PresenceService } from './presence.service.ts';

/** Read side of the presence endpoints: who may see whose status, and what it is. */
export class PresenceQueries {
  constructor(
    private readonly presence: PresenceService,
    private readonly friends: PresenceFriendStore,
    private readonly users: UserService,
    private readonly relationships: RelationshipService,
  ) {}

  /** Self and accepted friends only: unknown users 404, everyone else (blocked too) 403. */
  async userStatus(viewerId: number, userId: number): Promise<UserStatusResponse> {
    if (viewerId !== userId) {
      const [user, relationship] = await Promise.all([
        this.users.findActiveById(userId),
        this.relationships.between(viewerId, userId),
      ]);
      if (!user) throw notFound(`User ${userId} not found`);
      if (!relationship.areFriends || relationship.blockedEitherWay) {
        throw forbidden('You can only see the online status of yourself and your friends');
      }
    }
    const status = await this.presence.status(userId);
    return {
      user_id: userId,
      status: status.isOnline ? 'online' : 'offline',
      is_online: status.isOnline,
      last_activity: status.lastActivity?.toISOString() ?? null,
    };
  }

  /** Accepted friends with their online flag: one friends query, one pipelined Redis call. */
  async friendStatuses(viewerId: number): Promise<FriendStatus[]> {
    const friendIds = await this.friends.friendIds(viewerId);
    const flags = await this.presence.onlineFlags(friendIds);
    return friendIds.map((userId) => ({ user_id: userId, is_online: flags.get(userId) ?? false }));
  }
}
