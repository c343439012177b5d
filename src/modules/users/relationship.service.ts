import type { Relationship, RelationshipStore } from './relationship.store.ts';

export type { Relationship };

/**
 * The one place that answers "may these two users see each other?". Every feature that must
 * honour blocks (profiles, friends, direct rooms, messages, presence) asks here.
 */
export class RelationshipService {
  constructor(private readonly store: RelationshipStore) {}

  between(viewerId: number, otherId: number): Promise<Relationship> {
    return this.store.between(viewerId, otherId);
  }

  /** One block_users lookup (sending a direct message asks this every time). */
  isBlockedEitherWay(a: number, b: number): Promise<boolean> {
    return this.store.isBlockedEitherWay(a, b);
  }

  /** Which of `otherIds` blocked `userId` or were blocked by them, in one query. */
  blockedAmong(userId: number, otherIds: readonly number[]): Promise<Set<number>> {
    return this.store.blockedAmong(userId, otherIds);
  }

  /** Which of `otherIds` are accepted friends of `userId`, in one query. */
  friendsAmong(userId: number, otherIds: readonly number[]): Promise<Set<number>> {
    return this.store.friendsAmong(userId, otherIds);
  }
}
