import type { Pool } from 'mariadb';
import { parseUtcDateTime } from '../../db/mysql-url.ts';
import { retryOnConflict } from '../../db/conflict-retry.ts';
import type { Db } from '../../db/prisma.ts';
import { type Friendship, type FriendshipStatus, Prisma } from '../../generated/prisma/client.ts';
import { containsPattern } from '../../lib/sql-like.ts';
import { pairOf } from '../../lib/user-pair.ts';
import { isUniqueViolation } from '../../plugins/prisma.ts';
import type { Page } from './friends.schemas.ts';

export type FriendshipRecord = Friendship;

/** A condition on one pair's row; the update/delete applies only while it still holds. */
export interface PairCondition {
  status: FriendshipStatus;
  requesterId?: number;
  addresseeId?: number;
}

export interface FriendRow {
  id: number;
  username: string;
  displayName: string | null;
  email: string;
  profileImageUrl: string | null;
  isOnline: boolean;
  lastSeenAt: Date | null;
}

export interface RequestRow {
  userId: number;
  username: string;
  displayName: string | null;
  profileImageUrl: string | null;
  createdAt: Date;
}

export interface SearchRow {
  id: number;
  username: string;
  displayName: string | null;
  profileImageUrl: string | null;
}

// Raw rows as the MariaDB adapter returns them (BOOLEAN comes back as 0/1).
interface RawFriendRow {
  id: number;
  username: string;
  display_name: string | null;
  email: string;
  profile_image_url: string | null;
  is_online: number | boolean;
  /** UTC text as stored (`dateStrings`), never through the connection's time zone. */
  last_seen_at: string | null;
}

/**
 * A page of my accepted friends (parameters: me three times, limit, offset). Exported for the
 * benchmark's same-SQL ceiling (bench/baseline-http-server.ts).
 */
export const FRIENDS_OF_SQL = `SELECT u.id, u.username, u.display_name, u.email, u.profile_image_url, u.is_online, u.last_seen_at
  FROM friendships f
  JOIN users u ON u.id = IF(f.user_low_id = ?, f.user_high_id, f.user_low_id)
  WHERE (f.user_low_id = ? OR f.user_high_id = ?)
    AND f.status = 'accepted'
    AND u.is_active = TRUE
  ORDER BY COALESCE(u.display_name, u.username), u.id
  LIMIT ? OFFSET ?`;


interface RawRequestRow {
  user_id: number;
  username: string;
  display_name: string | null;
  profile_image_url: string | null;
  created_at: Date;
}

interface RawSearchRow {
  id: number;
  username: string;
  display_name: string | null;
  profile_image_url: string | null;
}

/** Either user has blocked the other: a friendship between them may not be asked for or accepted. */
export class BlockedPairError extends Error {
  constructor() {
    super('The two users are blocked');
    this.name = 'BlockedPairError';
  }
}

/**
 * Inside the transaction that just wrote the pair's row (so its row lock is held): a locking
 * read of both block_users keys, which sees a block committed meanwhile and waits for one
 * being written. BlocksStore.block does the mirror image (block row first, then a locking read
 * of the pair's row), so of a block and a request racing, the second to commit sees the first.
 * Point lookups on the unique (blocker_id, blocked_id) key, so the locks stay on these two keys.
 */
async function refuseIfBlocked(tx: Prisma.TransactionClient, a: number, b: number): Promise<void> {
  for (const [blockerId, blockedId] of [[a, b], [b, a]] as const) {
    const hits = await tx.$queryRaw<{ id: number }[]>`
      SELECT id FROM block_users WHERE blocker_id = ${blockerId} AND blocked_id = ${blockedId} LOCK IN SHARE MODE`;
    if (hits.length > 0) throw new BlockedPairError();
  }
}

/**
 * Friendship rows. One row per pair of users (unique `pair`), so every write is keyed by the pair
 * and guarded by the state it expects: concurrent writers never both succeed.
 */
export class FriendsStore {
  constructor(
    private readonly db: Db,
    private readonly pool: Pool,
  ) {}

  findPair(a: number, b: number): Promise<FriendshipRecord | null> {
    return this.db.friendship.findUnique({ where: { pair: pairOf(a, b) } });
  }

  /**
   * Inserts a pending request; null when the pair already has a row (unique violation). Throws
   * BlockedPairError, writing nothing, when either user has blocked the other (see refuseIfBlocked).
   */
  async createPending(requesterId: number, addresseeId: number): Promise<FriendshipRecord | null> {
    try {
      return await retryOnConflict(() =>
        this.db.$transaction(async (tx) => {
          const row = await tx.friendship.create({
            data: { requesterId, addresseeId, ...pairOf(requesterId, addresseeId), status: 'pending' },
          });
          await refuseIfBlocked(tx, requesterId, addresseeId);
          return row;
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /**
   * Updates the pair's row only while it matches `condition` (one atomic UPDATE) and reads it
   * back in the same transaction; null when no row matched. A change to `pending` or `accepted`
   * throws BlockedPairError, changing nothing, when either user has blocked the other.
   */
  async transition(
    a: number,
    b: number,
    condition: PairCondition,
    changes: { status: FriendshipStatus; requesterId?: number; addresseeId?: number; createdAt?: Date },
  ): Promise<FriendshipRecord | null> {
    const pair = pairOf(a, b);
    return retryOnConflict(() =>
      this.db.$transaction(async (tx) => {
        const updated = await tx.friendship.updateMany({ where: { ...pair, ...condition }, data: changes });
        if (updated.count !== 1) return null;
        if (changes.status !== 'rejected') await refuseIfBlocked(tx, a, b);
        return tx.friendship.findUnique({ where: { pair } });
      }),
    );
  }

  /** Deletes the pair's row only while it matches `condition`; false when none matched. */
  async deleteWhere(a: number, b: number, condition: PairCondition): Promise<boolean> {
    const { count } = await this.db.friendship.deleteMany({ where: { ...pairOf(a, b), ...condition } });
    return count > 0;
  }

  /**
   * My accepted friends, active accounts only: one plain statement on the pool (the list is a hot
   * read; Prisma's query layer cost as much as the query) over the pair and (user_high_id, status) indexes.
   */
  async friendsOf(userId: number, page: Page): Promise<FriendRow[]> {
    const rows = await this.pool.query<RawFriendRow[]>({ sql: FRIENDS_OF_SQL, dateStrings: true }, [userId, userId, userId, page.limit, page.offset]);
    return rows.map((row) => ({
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      email: row.email,
      profileImageUrl: row.profile_image_url,
      isOnline: Boolean(row.is_online),
      lastSeenAt: row.last_seen_at === null ? null : parseUtcDateTime(row.last_seen_at),
    }));
  }

  /** Pending requests sent to me (the other side is the requester), newest first. */
  receivedRequests(userId: number, page: Page): Promise<RequestRow[]> {
    return this.pendingRequests(Prisma.sql`f.requester_id`, Prisma.sql`f.addressee_id`, userId, page);
  }

  /** Pending requests I sent (the other side is the addressee), newest first. */
  sentRequests(userId: number, page: Page): Promise<RequestRow[]> {
    return this.pendingRequests(Prisma.sql`f.addressee_id`, Prisma.sql`f.requester_id`, userId, page);
  }

  /** Pending rows where `mySide` is me, with the user on `otherSide`. */
  private async pendingRequests(otherSide: Prisma.Sql, mySide: Prisma.Sql, userId: number, page: Page): Promise<RequestRow[]> {
    const rows = await this.db.$queryRaw<RawRequestRow[]>`
      SELECT u.id AS user_id, u.username, u.display_name, u.profile_image_url, f.created_at
      FROM friendships f
      JOIN users u ON u.id = ${otherSide}
      WHERE ${mySide} = ${userId} AND f.status = 'pending' AND u.is_active = TRUE
      ORDER BY f.created_at DESC, f.id DESC
      LIMIT ${page.limit} OFFSET ${page.offset}`;
    return rows.map(toRequestRow);
  }

  /**
   * Active users whose username or display name contains `text`, other than me, my friends and
   * users blocked either way: one query.
   */
  async search(userId: number, text: string, page: Page): Promise<SearchRow[]> {
    const pattern = containsPattern(text);
    const rows = await this.db.$queryRaw<RawSearchRow[]>`
      SELECT u.id, u.username, u.display_name, u.profile_image_url
      FROM users u
      WHERE u.is_active = TRUE
        AND u.id <> ${userId}
        AND (u.username LIKE ${pattern} ESCAPE '!' OR u.display_name LIKE ${pattern} ESCAPE '!')
        AND NOT EXISTS (
          SELECT 1 FROM friendships f
          WHERE f.user_low_id = LEAST(u.id, ${userId}) AND f.user_high_id = GREATEST(u.id, ${userId})
            AND f.status = 'accepted')
        AND NOT EXISTS (SELECT 1 FROM block_users b WHERE b.blocker_id = ${userId} AND b.blocked_id = u.id)
        AND NOT EXISTS (SELECT 1 FROM block_users b WHERE b.blocker_id = u.id AND b.blocked_id = ${userId})
      ORDER BY u.username, u.id
      LIMIT ${page.limit} OFFSET ${page.offset}`;
    return rows.map((row) => ({
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      profileImageUrl: row.profile_image_url,
    }));
  }
}

function toRequestRow(row: RawRequestRow): RequestRow {
  return {
    userId: row.user_id,
    username: row.username,
    displayName: row.display_name,
    profileImageUrl: row.profile_image_url,
    createdAt: row.created_at,
  };
}
