import type { FriendshipState, Relationship, RelationshipStore } from './relationship.store.ts';

export type { Relationship };

/** Where a user stands with another as friends: friends, a request pending one way, or neither. */
export interface FriendStanding {
  isFriend: boolean;
  /** A pending request: `sent` by the viewer, or `received` from the other user. */
  friendRequest: 'sent' | 'received' | null;
}

export const NO_STANDING: FriendStanding = { isFriend: false, friendRequest: null };

function standingOf(viewerId: number, row: FriendshipState): FriendStanding {
  if (row.status === 'accepted') return { isFriend: true, friendRequest: null };
  if (row.status === 'pending') return { isFriend: false, friendRequest: row.requesterId === viewerId ? 'sent' : 'received' };
  return NO_STANDING;
}

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

  /**
   * Whether a user of `userIds` and a user of `otherIds` are blocked either way, for every such
   * pair at once: one query, however many pairs are asked about.
   */
  async blockedPairs(userIds: readonly number[], otherIds: readonly number[]): Promise<(a: number, b: number) => boolean> {
    const pairKey = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);
    const blocked = new Set((await this.store.blocksBetween(userIds, otherIds)).map((row) => pairKey(row.blockerId, row.blockedId)));
    return (a, b) => blocked.has(pairKey(a, b));
  }

  /** Which of `otherIds` are accepted friends of `userId`, in one query. */
  friendsAmong(userId: number, otherIds: readonly number[]): Promise<Set<number>> {
    return this.store.friendsAmong(userId, otherIds);
  }

  /** How `viewerId` stands with each of `otherIds` (friendship and pending requests), in one query. */
  async friendStandingsAmong(viewerId: number, otherIds: readonly number[]): Promise<Map<number, FriendStanding>> {
    const rows = await this.store.friendshipsAmong(viewerId, otherIds);
    return new Map([...rows].map(([otherId, row]) => [otherId, standingOf(viewerId, row)]));
  }
}
