import type { Db } from '../../db/prisma.ts';
import { pairOf } from '../../lib/user-pair.ts';

export interface Relationship {
  areFriends: boolean;
  blockedEitherWay: boolean;
}

/**
 * Reads of how two users stand to each other (friendship, blocks). Written by the friends and
 * blocks modules; read here, in the module every feature already depends on, so that checking
 * a block never makes one feature module depend on another.
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

  /** Which of `otherIds` are accepted friends of `userId`, in one query. */
  async friendsAmong(userId: number, otherIds: readonly number[]): Promise<Set<number>> {
    const ids = otherIds.filter((id) => id !== userId);
    if (ids.length === 0) return new Set();
    const rows = await this.db.friendship.findMany({
      where: {
        status: 'accepted',
        OR: [
          { userLowId: userId, userHighId: { in: ids } },
          { userHighId: userId, userLowId: { in: ids } },
        ],
      },
      select: { userLowId: true, userHighId: true },
    });
    return new Set(rows.map((row) => (row.userLowId === userId ? row.userHighId : row.userLowId)));
  }
}
