import type { FastifyBaseLogger } from 'fastify';
import type { DomainEvent } from '../../lib/domain-events.ts';
import { badRequest, conflict, notFound } from '../../lib/errors.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { UserService } from '../users/user.service.ts';
import type { BlockedUserView } from './blocks.schemas.ts';
import type { BlocksStore } from './blocks.store.ts';

export interface BlockOutcome {
  blocked: BlockedUserView;
  endedFriendship: boolean;
}

/** Blocking users. Whether two users are blocked is read through RelationshipStore elsewhere. */
export class BlocksService {
  constructor(
    private readonly store: BlocksStore,
    private readonly users: UserService,
    private readonly events: Pick<EventBus, 'publishAfterCommit'>,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Blocks `targetId`; any friendship or pending request between us ends with it. */
  async block(userId: number, targetId: number): Promise<BlockOutcome> {
    if (userId === targetId) throw badRequest('You cannot block yourself');
    const target = await this.users.findActiveById(targetId);
    if (!target) throw notFound(`User ${targetId} not found`);
    const result = await this.store.block(userId, targetId);
    if (!result) throw conflict(`User ${targetId} is already blocked`);

    await this.publish({ type: 'block_changed', blocker_id: userId, blocked_id: targetId, blocked: true });
    if (result.endedFriendship) {
      await this.publish({ type: 'friendship_changed', user_ids: [userId, targetId], status: 'ended' });
    }
    return {
      blocked: {
        user_id: target.id,
        username: target.username,
        display_name: target.displayName,
        blocked_at: result.blockedAt.toISOString(),
      },
      endedFriendship: result.endedFriendship,
    };
  }

  async unblock(userId: number, targetId: number): Promise<void> {
    const removed = await this.store.unblock(userId, targetId);
    if (!removed) throw notFound(`User ${targetId} is not blocked`);
    await this.publish({ type: 'block_changed', blocker_id: userId, blocked_id: targetId, blocked: false });
  }

  async list(userId: number, page: { limit: number; offset: number }): Promise<BlockedUserView[]> {
    const rows = await this.store.blockedBy(userId, page);
    return rows.map((row) => ({
      user_id: row.userId,
      username: row.username,
      display_name: row.displayName,
      blocked_at: row.blockedAt.toISOString(),
    }));
  }

  private publish(event: DomainEvent): Promise<void> {
    return this.events.publishAfterCommit(event, this.log);
  }
}
