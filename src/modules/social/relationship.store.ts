import type { Db } from '../../db/prisma.ts';

export interface Relationship {
  areFriends: boolean;
  blockedEitherWay: boolean;
}

export interface UserPair {
  userLowId: number;
  userHighId: number;
}

/** The friendship key of two users, whichever side asked first (unique `pair` in the schema). */
export const pairOf = (a: number, b: number): UserPair =>
  a < b ? { userLowId: a, userHighId: b } : { userLowId: b, userHighId: a };

/** True for Prisma's unique-constraint violation (P2002), e.g. a pair or block inserted twice. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

/**
 * The one place that answers "may these two users see each other?". Every feature that must
 * honour blocks (profiles, friends, direct rooms, messages, presence) asks here.
 */
export class RelationshipStore {
  constructor(private readonly db: Db) {}

  async between(viewerId: number, otherId: number): Promise<Relationship> {
    if (viewerId === otherId) return { areFriends: false, blockedEitherWay: false };
    const [friendship, blockedEitherWay] = await Promise.all([
      this.db.friendship.findUnique({ where: { pair: pairOf(viewerId, otherId) }, select: { status: true } }),
      this.isBlockedEitherWay(viewerId, otherId),
    ]);
    return { areFriends: friendship?.status === 'accepted', blockedEitherWay };
  }

  /** One block_users lookup (sending a direct message asks this every time). */
  async isBlockedEitherWay(a: number, b: number): Promise<boolean> {
    if (a === b) return false;
    return (await this.blockedAmong(a, [b])).size > 0;
  }

  /** Which of `otherIds` blocked `userId` or were blocked by them, in one query. */
  async blockedAmong(userId: number, otherIds: readonly number[]): Promise<Set<number>> {
    if (otherIds.length === 0) return new Set();
    const ids = [...otherIds];
    const rows = await this.db.blockUser.findMany({
      where: {
        OR: [
          { blockerId: userId, blockedId: { in: ids } },
          { blockedId: userId, blockerId: { in: ids } },
        ],
      },
      select: { blockerId: true, blockedId: true },
    });
    return new Set(rows.map((row) => (row.blockerId === userId ? row.blockedId : row.blockerId)));
  }
}
