import type { Db } from '../../db/prisma.ts';

/**
 * The presence module's own read of the social graph: whose presence a user may watch.
 * Accepted friendships only, minus anyone blocked either way (a block ends the friendship,
 * this is the defensive second check). Two indexed queries, whatever the number of friends.
 */
export class PresenceFriendStore {
  constructor(private readonly db: Db) {}

  async friendIds(userId: number): Promise<number[]> {
    const [friendships, blocks] = await Promise.all([
      this.db.friendship.findMany({
        where: { status: 'accepted', OR: [{ userLowId: userId }, { userHighId: userId }] },
        select: { userLowId: true, userHighId: true },
      }),
      this.db.blockUser.findMany({
        where: { OR: [{ blockerId: userId }, { blockedId: userId }] },
        select: { blockerId: true, blockedId: true },
      }),
    ]);
    const blocked = new Set(blocks.map((block) => (block.blockerId === userId ? block.blockedId : block.blockerId)));
    const ids = friendships
      .map((friendship) => (friendship.userLowId === userId ? friendship.userHighId : friendship.userLowId))
      .filter((id) => !blocked.has(id));
    return [...new Set(ids)].sort((a, b) => a - b);
  }

  /** True when `a` and `b` are accepted friends and neither blocked the other. */
  async canWatch(a: number, b: number): Promise<boolean> {
    if (a === b) return false;
    const [friendship, block] = await Promise.all([
      this.db.friendship.findUnique({
        where: { pair: { userLowId: Math.min(a, b), userHighId: Math.max(a, b) } },
        select: { status: true },
      }),
      this.db.blockUser.findFirst({
        where: { OR: [{ blockerId: a, blockedId: b }, { blockerId: b, blockedId: a }] },
        select: { id: true },
      }),
    ]);
    return friendship?.status === 'accepted' && block === null;
  }
}
