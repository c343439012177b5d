import { retryOnConflict } from '../../db/conflict-retry.ts';
import type { Db } from '../../db/prisma.ts';
import { pairOf } from '../../lib/user-pair.ts';
import { isUniqueViolation } from '../../plugins/prisma.ts';

export interface BlockedUserRow {
  userId: number;
  username: string;
  displayName: string | null;
  blockedAt: Date;
}

export interface BlockResult {
  blockedAt: Date;
  /** True when the block ended an accepted friendship (pending/rejected rows go silently). */
  endedFriendship: boolean;
}

interface PairRow {
  id: number;
  status: string;
}

interface RawBlockedUserRow {
  user_id: number;
  username: string;
  display_name: string | null;
  blocked_at: Date;
}

export class BlocksStore {
  constructor(private readonly db: Db) {}

  /**
   * Records the block and removes the pair's friendship row (accepted, pending or rejected) in one
   * transaction. Null when I had already blocked them (nothing changes).
   *
   * Against a concurrent friend request or acceptance, which writes the pair's row and then
   * reads block_users with a lock (FriendsStore): here the block row is written first and the
   * pair's row is then read with a lock. Whichever of the two transactions comes second sees
   * the other's write, or waits for it and then sees it, so no request survives next to a block.
   * When each waits for the other, InnoDB rolls one back as a deadlock and it runs again.
   */
  async block(blockerId: number, blockedId: number): Promise<BlockResult | null> {
    const pair = pairOf(blockerId, blockedId);
    try {
      return await retryOnConflict(() =>
        this.db.$transaction(async (tx) => {
          const block = await tx.blockUser.create({ data: { blockerId, blockedId }, select: { createdAt: true } });
          // Through the pair's unique key: the row (or the gap where it would be) stays ours until commit,
          // so "was it a friendship?" is answered exactly.
          const rows = await tx.$queryRaw<PairRow[]>`
            SELECT id, status FROM friendships
            WHERE user_low_id = ${pair.userLowId} AND user_high_id = ${pair.userHighId}
            FOR UPDATE`;
          const row = rows[0];
          if (row) await tx.friendship.deleteMany({ where: { id: row.id } });
          return { blockedAt: block.createdAt, endedFriendship: row?.status === 'accepted' };
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  async unblock(blockerId: number, blockedId: number): Promise<boolean> {
    const { count } = await this.db.blockUser.deleteMany({ where: { blockerId, blockedId } });
    return count > 0;
  }

  /** Users I blocked, newest first: one query. */
  async blockedBy(blockerId: number, page: { limit: number; offset: number }): Promise<BlockedUserRow[]> {
    const rows = await this.db.$queryRaw<RawBlockedUserRow[]>`
      SELECT u.id AS user_id, u.username, u.display_name, b.created_at AS blocked_at
      FROM block_users b
      JOIN users u ON u.id = b.blocked_id
      WHERE b.blocker_id = ${blockerId}
      ORDER BY b.created_at DESC, b.id DESC
      LIMIT ${page.limit} OFFSET ${page.offset}`;
    return rows.map((row) => ({
      userId: row.user_id,
      username: row.username,
      displayName: row.display_name,
      blockedAt: row.blocked_at,
    }));
  }
}
