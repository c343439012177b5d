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
   */
  async block(blockerId: number, blockedId: number): Promise<BlockResult | null> {
    const pair = pairOf(blockerId, blockedId);
    try {
      return await this.db.$transaction(async (tx) => {
        const block = await tx.blockUser.create({ data: { blockerId, blockedId }, select: { createdAt: true } });
        // The accepted row first: that DELETE locks the pair's row, so its status cannot change
        // between the two statements and "was it a friendship?" is answered exactly.
        const ended = await tx.friendship.deleteMany({ where: { ...pair, status: 'accepted' } });
        await tx.friendship.deleteMany({ where: pair });
        return { blockedAt: block.createdAt, endedFriendship: ended.count > 0 };
      });
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
