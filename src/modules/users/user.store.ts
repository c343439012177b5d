import type { Db } from '../../db/prisma.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { containsPattern, prefixPattern } from '../../lib/sql-like.ts';
import { acceptedFriends, notBlockedEitherWay } from './relationship.store.ts';
import type { DirectorySource, UserRecord, UserViewSource } from './user.view.ts';

export interface NewUser {
  email: string;
  username: string;
  passwordHash: string;
  displayName: string | null;
}

export interface ProfileChanges {
  displayName?: string | null;
  statusMessage?: string | null;
  profileImageUrl?: string | null;
}

/** A user another user may see, and whether the two are friends (who sees the email). */
export interface VisibleUser extends UserViewSource {
  isFriend: boolean;
}

// Raw rows as the MariaDB adapter returns them (BOOLEAN and EXISTS come back as 0/1).
interface RawDirectoryRow {
  id: number;
  username: string;
  display_name: string | null;
  profile_image_url: string | null;
}

interface RawVisibleUserRow extends RawDirectoryRow {
  email: string;
  status_message: string | null;
  is_online: number | boolean;
  last_seen_at: Date | null;
  created_at: Date;
  is_friend: number | bigint | boolean;
}

/** How a viewer stands with another user, as far as seeing their profile goes. */
export interface ViewerStanding {
  isFriend: boolean;
  visible: boolean;
}

interface RawStandingRow {
  is_friend: number | bigint | boolean;
  visible: number | bigint | boolean;
}

/** The columns a `user` object is made of (UserViewSource), for Prisma's `select`. */
const VIEW_SELECT = {
  id: true, email: true, username: true, displayName: true, profileImageUrl: true,
  statusMessage: true, isOnline: true, lastSeenAt: true, createdAt: true,
} as const;

const USER_ID = Prisma.sql`u.id`;
const DIRECTORY_COLUMNS = Prisma.sql`u.id, u.username, u.display_name, u.profile_image_url`;

export class UserStore {
  constructor(private readonly db: Db) {}

  findById(id: number): Promise<UserRecord | null> {
    return this.db.user.findUnique({ where: { id } });
  }

  findActiveById(id: number): Promise<UserRecord | null> {
    return this.db.user.findFirst({ where: { id, isActive: true } });
  }

  /** An active user's row as profiles show it (no password hash, no flags). */
  findActiveView(id: number): Promise<UserViewSource | null> {
    return this.db.user.findFirst({ where: { id, isActive: true }, select: VIEW_SELECT });
  }

  /** The viewer-dependent half of `visibleAmong` for one other user: the same conditions, one query. */
  async standing(viewerId: number, otherId: number): Promise<ViewerStanding> {
    const other = Prisma.sql`${otherId}`;
    const [row] = await this.db.$queryRaw<RawStandingRow[]>`
      SELECT ${acceptedFriends(viewerId, other)} AS is_friend, ${notBlockedEitherWay(viewerId, other)} AS visible`;
    return { isFriend: Boolean(row?.is_friend), visible: Boolean(row?.visible) };
  }

  async activeIds(userIds: readonly number[]): Promise<Set<number>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db.user.findMany({ where: { id: { in: [...userIds] }, isActive: true }, select: { id: true } });
    return new Set(rows.map((row) => row.id));
  }

  /** Login accepts either the email or the username. */
  findByLogin(identifier: string): Promise<UserRecord | null> {
    const field = identifier.includes('@') ? { email: identifier.toLowerCase() } : { username: identifier };
    return this.db.user.findUnique({ where: field as { email: string } | { username: string } });
  }

  findTaken(email: string, username: string): Promise<Pick<UserRecord, 'email' | 'username'> | null> {
    return this.db.user.findFirst({
      where: { OR: [{ email }, { username }] },
      select: { email: true, username: true },
    });
  }

  create(user: NewUser): Promise<UserRecord> {
    return this.db.user.create({ data: user });
  }

  update(id: number, changes: ProfileChanges): Promise<UserRecord> {
    return this.db.user.update({ where: { id }, data: changes });
  }

  setOnline(id: number, isOnline: boolean, lastSeenAt?: Date): Promise<unknown> {
    return this.db.user.updateMany({
      where: { id },
      data: { isOnline, ...(lastSeenAt ? { lastSeenAt } : {}) },
    });
  }

  setOfflineMany(ids: readonly number[], lastSeenAt: Date): Promise<unknown> {
    return this.db.user.updateMany({ where: { id: { in: [...ids] } }, data: { isOnline: false, lastSeenAt } });
  }

  /**
   * The users among `ids` that `viewerId` may see (active, not blocked either way), with whether
   * each is the viewer's friend: one query on the primary key.
   */
  async visibleAmong(viewerId: number, ids: readonly number[]): Promise<VisibleUser[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.$queryRaw<RawVisibleUserRow[]>`
      SELECT ${DIRECTORY_COLUMNS}, u.email, u.status_message, u.is_online, u.last_seen_at, u.created_at,
        ${acceptedFriends(viewerId, USER_ID)} AS is_friend
      FROM users u
      WHERE u.id IN (${Prisma.join(ids)}) AND u.is_active = TRUE AND ${notBlockedEitherWay(viewerId, USER_ID)}`;
    return rows.map((row) => ({
      ...toDirectorySource(row),
      email: row.email,
      statusMessage: row.status_message,
      isOnline: Boolean(row.is_online),
      lastSeenAt: row.last_seen_at,
      createdAt: row.created_at,
      isFriend: Boolean(row.is_friend),
    }));
  }

  /**
   * Active users other than the viewer and not blocked either way whose username or display
   * name contains `text`: those starting with it first (by the name that starts with it), then
   * the others (by username). One statement in three branches: the two prefix branches are
   * ranges on users_username_key and users_display_name_idx (the column collation is
   * case-insensitive, so no lower() index is needed) read in index order up to `limit` rows;
   * "contains" cannot use a B-tree index, so its branch reads until it has `limit` matches.
   */
  async search(viewerId: number, text: string, limit: number): Promise<DirectorySource[]> {
    const prefix = prefixPattern(text);
    const contains = containsPattern(text);
    const usernameStarts = Prisma.sql`(u.username LIKE ${prefix} ESCAPE '!')`;
    const displayNameStarts = Prisma.sql`(u.display_name LIKE ${prefix} ESCAPE '!')`;
    const visible = Prisma.sql`u.is_active = TRUE AND u.id <> ${viewerId} AND ${notBlockedEitherWay(viewerId, USER_ID)}`;
    const rows = await this.db.$queryRaw<RawDirectoryRow[]>`
      SELECT id, username, display_name, profile_image_url FROM (
        (SELECT ${DIRECTORY_COLUMNS}, 0 AS match_rank, u.username AS sort_name FROM users u
          WHERE ${usernameStarts} AND ${visible}
          ORDER BY u.username LIMIT ${limit})
        UNION ALL
        (SELECT ${DIRECTORY_COLUMNS}, 0, u.display_name FROM users u
          WHERE ${displayNameStarts} AND NOT ${usernameStarts} AND ${visible}
          ORDER BY u.display_name, u.id LIMIT ${limit})
        UNION ALL
        (SELECT ${DIRECTORY_COLUMNS}, 1, u.username FROM users u
          WHERE (u.username LIKE ${contains} ESCAPE '!' OR u.display_name LIKE ${contains} ESCAPE '!')
            AND NOT ${usernameStarts} AND ${displayNameStarts} IS NOT TRUE AND ${visible}
          ORDER BY u.username LIMIT ${limit})
      ) AS candidates
      ORDER BY match_rank, sort_name, id
      LIMIT ${limit}`;
    return rows.map(toDirectorySource);
  }
}

function toDirectorySource(row: RawDirectoryRow): DirectorySource {
  return { id: row.id, username: row.username, displayName: row.display_name, profileImageUrl: row.profile_image_url };
}
