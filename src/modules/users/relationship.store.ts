import type { Pool } from 'mariadb';
import type { Db } from '../../db/prisma.ts';
import { type FriendshipStatus, Prisma } from '../../generated/prisma/client.ts';
import { pairOf } from '../../lib/user-pair.ts';

export interface Relationship {
  areFriends: boolean;
  blockedEitherWay: boolean;
}

/** The friendship row of a pair, as seen from one of the two users. */
export interface FriendshipState {
  status: FriendshipStatus;
  requesterId: number;
}

/**
 * SQL condition for a query over users: neither `userId` nor the user whose id is `other` (a
 * column) has blocked the other. Two point lookups on the unique (blocker_id, blocked_id) key.
 */
export function notBlockedEitherWay(userId: number, other: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM block_users b WHERE b.blocker_id = ${userId} AND b.blocked_id = ${other})
    AND NOT EXISTS (SELECT 1 FROM block_users b WHERE b.blocker_id = ${other} AND b.blocked_id = ${userId})`;
}

/** SQL condition: `userId` and the user whose id is `other` are accepted friends (the pair key). */
export function acceptedFriends(userId: number, other: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM friendships f
    WHERE f.user_low_id = LEAST(${other}, ${userId}) AND f.user_high_id = GREATEST(${other}, ${userId})
      AND f.status = 'accepted')`;
}

/**
 * Reads of how two users stand to each other (friendship, blocks). Written by the friends and
 * blocks modules; read here, in the module every feature already depends on, so that checking
 * a block never makes one feature module depend on another.
 */
export class RelationshipStore {
  constructor(
    private readonly db: Db,
    private readonly pool: Pool,
  ) {}

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
    const rows = await this.blocksBetween([userId], otherIds);
    return new Set(rows.map((row) => (row.blockerId === userId ? row.blockedId : row.blockerId)));
  }

  /**
   * Every block, either way, between one of `userIds` and one of `otherIds`, in one query. On
   * the pool: every batch of sent messages asks (Prisma's query building cost more than the statement).
   */
  async blocksBetween(userIds: readonly number[], otherIds: readonly number[]): Promise<{ blockerId: number; blockedId: number }[]> {
    if (userIds.length === 0 || otherIds.length === 0) return [];
    const users = [...userIds];
    const others = [...otherIds];
    const rows = await this.pool.query<{ blocker_id: number; blocked_id: number }[]>(
      `SELECT blocker_id, blocked_id FROM block_users
        WHERE (blocker_id IN (?) AND blocked_id IN (?)) OR (blocked_id IN (?) AND blocker_id IN (?))`,
      [users, others, users, others],
    );
    return rows.map((row) => ({ blockerId: row.blocker_id, blockedId: row.blocked_id }));
  }

  /** Which of `otherIds` are accepted friends of `userId`, in one query. */
  async friendsAmong(userId: number, otherIds: readonly number[]): Promise<Set<number>> {
    return new Set((await this.friendshipsAmong(userId, otherIds, 'accepted')).keys());
  }

  /**
   * The friendship row `userId` has with each of `otherIds` (only those with one, and only of
   * `status` when given), keyed by the other user: one query, served by the pair key both ways.
   */
  async friendshipsAmong(userId: number, otherIds: readonly number[], status?: FriendshipStatus): Promise<Map<number, FriendshipState>> {
    const ids = otherIds.filter((id) => id !== userId);
    if (ids.length === 0) return new Map();
    const rows = await this.db.friendship.findMany({
      where: {
        ...(status ? { status } : {}),
        OR: [
          { userLowId: userId, userHighId: { in: ids } },
          { userHighId: userId, userLowId: { in: ids } },
        ],
      },
      select: { userLowId: true, userHighId: true, status: true, requesterId: true },
    });
    return new Map(
      rows.map((row) => [row.userLowId === userId ? row.userHighId : row.userLowId, { status: row.status, requesterId: row.requesterId }]),
    );
  }
}
