import { retryOnConflict } from '../../db/conflict-retry.ts';
import type { Pool } from 'mariadb';
import type { Db } from '../../db/prisma.ts';
import { parseUtcDateTime, utcDateTime } from '../../db/mysql-url.ts';
import { Prisma, type Room, type RoomMember } from '../../generated/prisma/client.ts';
import type { RoomRole, RoomType } from './room.schemas.ts';
import type { MemberViewSource, RoomViewSource } from './room.view.ts';

/** Current members (left_at IS NULL), oldest first, with the user fields the room view shows. */
export const withMembers = {
  members: {
    where: { leftAt: null },
    orderBy: [{ joinedAt: 'asc' }, { id: 'asc' }],
    include: { user: { select: { id: true, username: true, displayName: true } } },
  },
} satisfies Prisma.RoomInclude;

export type RoomWithMembers = Prisma.RoomGetPayload<{ include: typeof withMembers }>;
export type { Room, RoomMember };

export interface MembershipRecord {
  id: number;
  type: RoomType;
  directKey: string | null;
  /** My current membership, when I am a member. */
  member: Pick<RoomMember, 'role' | 'lastReadMessageId' | 'lastReadSeq' | 'lastReadAt' | 'joinedAt'> | null;
}

/** A member's read pointer and join time: what their unread count depends on. */
export type ReadPosition = Pick<RoomMember, 'lastReadSeq' | 'lastReadMessageId' | 'joinedAt'>;

/** A current member as notifications see them: who, by which name they are mentioned, and whether they muted the room. */
export interface MemberSettings {
  userId: number;
  username: string;
  muted: boolean;
}

/** A current member as a room list shows them, with the read position their unread count needs. */
export type ListedMember = MemberViewSource & ReadPosition;

/** A room of a room list: what its view shows, members oldest first. */
export interface ListedRoom extends RoomViewSource {
  members: ListedMember[];
  /** What the list is sorted by: the last message's time as the room row has it, else its creation. */
  activityAt: Date;
}

interface RawListedRoom {
  id: number;
  type: RoomType;
  name: string | null;
  description: string | null;
  is_private: number | boolean;
  max_members: number;
  created_by: number;
  /** UTC text as stored (`dateStrings`), never through the connection's time zone. */
  created_at: string;
  updated_at: string;
  activity_at: string;
  /** My own membership's read position (the row the page is selected from). */
  my_joined_at: string;
  my_last_read_seq: bigint | number | string;
  my_last_read_message_id: string | null;
}

interface RawListedMember {
  id: bigint | number;
  room_id: number;
  user_id: number;
  username: string;
  display_name: string | null;
  nickname: string | null;
  role: RoomRole;
  joined_at: string;
  last_read_seq: bigint | number | string;
  last_read_message_id: string | null;
}

/**
 * A page of my active rooms, newest activity (last message, else creation) first (parameters: me,
 * [type,] limit, offset): from my memberships over the (user_id, left_at) index.
 */
const roomPageSql = (byType: boolean) => `SELECT r.id, r.type, r.name, r.description, r.is_private, r.max_members, r.created_by, r.created_at, r.updated_at,
  COALESCE(r.last_message_at, r.created_at) AS activity_at,
  m.joined_at AS my_joined_at, m.last_read_seq AS my_last_read_seq, m.last_read_message_id AS my_last_read_message_id
  FROM room_members m JOIN rooms r ON r.id = m.room_id
  WHERE m.user_id = ? AND m.left_at IS NULL AND r.is_active = TRUE${byType ? ' AND r.type = ?' : ''}
  ORDER BY COALESCE(r.last_message_at, r.created_at) DESC, r.id DESC
  LIMIT ? OFFSET ?`;
const ROOM_PAGE_SQL = roomPageSql(false);
const ROOM_PAGE_OF_TYPE_SQL = roomPageSql(true);

/**
 * The current members of a set of rooms over the (room_id, left_at, joined_at) index, unsorted:
 * MariaDB's sort of a 100-room page's 300 rows was about a quarter of the statement's CPU; the caller orders each room's few
 * members (oldest first) itself.
 */
const membersOfSql = (count: number) => `SELECT m.id, m.room_id, m.user_id, u.username, u.display_name, m.nickname, m.role, m.joined_at, m.last_read_seq, m.last_read_message_id
  FROM room_members m JOIN users u ON u.id = m.user_id
  WHERE m.room_id IN (${Array.from({ length: count }, () => '?').join(', ')}) AND m.left_at IS NULL`;

/** Oldest member first, then by membership id (DATETIME(3) text in one format sorts as its time). */
const byJoinOrder = (a: RawListedMember, b: RawListedMember) =>
  a.joined_at < b.joined_at ? -1 : a.joined_at > b.joined_at ? 1 : Number(a.id) - Number(b.id);

const toListedMember = (row: RawListedMember): ListedMember => ({
  userId: row.user_id,
  nickname: row.nickname,
  role: row.role,
  joinedAt: parseUtcDateTime(row.joined_at),
  lastReadSeq: BigInt(row.last_read_seq),
  lastReadMessageId: row.last_read_message_id,
  user: { username: row.username, displayName: row.display_name },
});

/** A room of my room list before its members are read: what the page statement gave, with my read position. */
export interface PagedRoom {
  row: RawListedRoom;
  mine: ReadPosition;
}

const toPagedRoom = (row: RawListedRoom): PagedRoom => ({
  row,
  mine: { joinedAt: parseUtcDateTime(row.my_joined_at), lastReadSeq: BigInt(row.my_last_read_seq), lastReadMessageId: row.my_last_read_message_id },
});

const toListedRoom = (row: RawListedRoom, members: ListedMember[]): ListedRoom => ({
  id: row.id,
  type: row.type,
  name: row.name,
  description: row.description,
  isPrivate: Boolean(row.is_private),
  maxMembers: row.max_members,
  createdBy: row.created_by,
  createdAt: parseUtcDateTime(row.created_at),
  updatedAt: parseUtcDateTime(row.updated_at),
  activityAt: parseUtcDateTime(row.activity_at),
  members,
});

export interface NewGroupRoom {
  name: string;
  description: string | null;
  isPrivate: boolean;
  maxMembers: number;
  createdBy: number;
  memberIds: number[];
}

export interface RoomChanges {
  name?: string;
  description?: string | null;
  isPrivate?: boolean;
  maxMembers?: number;
}

export interface PageOptions {
  limit: number;
  offset: number;
}

/** Room locks are held briefly, but queued writers of a busy room may wait for them. */
const LOCK_TRANSACTION = { maxWait: 5000, timeout: 15_000 };

/** "<low id>:<high id>": the unique key that makes one direct room per pair. */
export const directKeyOf = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/** The other member of a direct room, read from its key. */
export function directPeerOf(directKey: string | null, userId: number): number | null {
  if (!directKey) return null;
  const [low, high] = directKey.split(':').map(Number);
  if (low === userId) return high ?? null;
  if (high === userId) return low ?? null;
  return null;
}

/**
 * A room row locked (SELECT ... FOR UPDATE) for one transaction: membership changes of a room
 * run one at a time, so capacity checks and ownership hand-over cannot race.
 */
export class LockedRoom {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    readonly room: Room,
  ) {}

  activeMembers(): Promise<RoomMember[]> {
    return this.tx.roomMember.findMany({
      where: { roomId: this.room.id, leftAt: null },
      orderBy: [{ joinedAt: 'asc' }, { id: 'asc' }],
    });
  }

  member(userId: number): Promise<RoomMember | null> {
    return this.tx.roomMember.findFirst({ where: { roomId: this.room.id, userId, leftAt: null } });
  }

  countActive(): Promise<number> {
    return this.tx.roomMember.count({ where: { roomId: this.room.id, leftAt: null } });
  }

  /** Adds the user, or brings a former member back (fresh role, nickname and join time). */
  async addMember(userId: number, role: RoomRole): Promise<void> {
    const now = new Date();
    await this.tx.roomMember.upsert({
      where: { roomId_userId: { roomId: this.room.id, userId } },
      create: { roomId: this.room.id, userId, role, joinedAt: now },
      update: { role, nickname: null, joinedAt: now, leftAt: null },
    });
  }

  async markLeft(userId: number): Promise<void> {
    await this.tx.roomMember.updateMany({ where: { roomId: this.room.id, userId, leftAt: null }, data: { leftAt: new Date() } });
  }

  async setRole(userId: number, role: RoomRole): Promise<void> {
    await this.tx.roomMember.updateMany({ where: { roomId: this.room.id, userId, leftAt: null }, data: { role } });
  }

  async update(changes: RoomChanges): Promise<void> {
    await this.tx.room.update({ where: { id: this.room.id }, data: changes });
  }

  /**
   * Deletes the room; members and (MySQL) messages go with it by cascade. The clean-up owed
   * elsewhere (message store, caches) is recorded in the same transaction (see RoomPurges).
   */
  async delete(): Promise<void> {
    await this.tx.room.delete({ where: { id: this.room.id } });
    await this.tx.roomPurge.create({ data: { roomId: this.room.id } });
  }
}

/** Every database call of the rooms module. */
export class RoomStore {
  constructor(
    private readonly db: Db,
    /** The pool under `db`, for the per-message UPDATE (skips Prisma's query layer). */
    private readonly pool: Pool,
  ) {}

  findActive(roomId: number): Promise<RoomWithMembers | null> {
    return this.db.room.findFirst({ where: { id: roomId, isActive: true }, include: withMembers });
  }

  findDirectByKey(directKey: string): Promise<RoomWithMembers | null> {
    return this.db.room.findUnique({ where: { directKey }, include: withMembers });
  }

  /** Room and both members in one transaction; a concurrent twin fails with P2002 on direct_key. */
  createDirect(creatorId: number, peerId: number): Promise<RoomWithMembers> {
    const joinedAt = new Date();
    return this.db.room.create({
      data: {
        type: 'direct',
        createdBy: creatorId,
        directKey: directKeyOf(creatorId, peerId),
        members: {
          create: [
            { userId: creatorId, role: 'member', joinedAt },
            { userId: peerId, role: 'member', joinedAt },
          ],
        },
      },
      include: withMembers,
    });
  }

  createGroup(group: NewGroupRoom): Promise<RoomWithMembers> {
    const joinedAt = new Date();
    return this.db.room.create({
      data: {
        type: 'group',
        name: group.name,
        description: group.description,
        isPrivate: group.isPrivate,
        maxMembers: group.maxMembers,
        createdBy: group.createdBy,
        members: {
          create: [
            { userId: group.createdBy, role: 'owner', joinedAt },
            ...group.memberIds.map((userId) => ({ userId, role: 'member' as const, joinedAt })),
          ],
        },
      },
      include: withMembers,
    });
  }

  /**
   * A page of my rooms with my read position in each, without their members (withMembers):
   * what my last message and unread counts need is there, so they can be asked meanwhile.
   * Plain statements on the pool (this and withMembers), since Prisma's nested includes and
   * result mapping cost several times the SQL on this hot, heavy read (a 100-room page).
   */
  async pageOfMember(userId: number, type: RoomType | undefined, page: PageOptions): Promise<PagedRoom[]> {
    const rooms = await this.pool.query<RawListedRoom[]>(
      { sql: type ? ROOM_PAGE_OF_TYPE_SQL : ROOM_PAGE_SQL, dateStrings: true },
      type ? [userId, type, page.limit, page.offset] : [userId, page.limit, page.offset],
    );
    return rooms.map(toPagedRoom);
  }

  /** The rooms of a page with their current members, oldest first. */
  async withMembers(rooms: readonly PagedRoom[]): Promise<ListedRoom[]> {
    if (rooms.length === 0) return [];
    const ids = rooms.map(({ row }) => row.id);
    const members = await this.pool.query<RawListedMember[]>({ sql: membersOfSql(ids.length), dateStrings: true }, ids);
    const byRoom = new Map<number, RawListedMember[]>(ids.map((id) => [id, []]));
    for (const row of members) byRoom.get(row.room_id)?.push(row);
    return rooms.map(({ row }) => toListedRoom(row, (byRoom.get(row.id) ?? []).sort(byJoinOrder).map(toListedMember)));
  }

  /** Every room the user is a member of now (the (user_id, left_at) index). */
  async memberRoomIds(userId: number): Promise<number[]> {
    const rows = await this.db.roomMember.findMany({ where: { userId, leftAt: null, room: { isActive: true } }, select: { roomId: true } });
    return rows.map((row) => row.roomId);
  }

  /** My current memberships of active rooms with their read positions, newest activity first. */
  async readPositionsOf(userId: number): Promise<(ReadPosition & { roomId: number; lastMessageAt: Date | null })[]> {
    const rows = await this.db.roomMember.findMany({
      where: { userId, leftAt: null, room: { isActive: true } },
      // MySQL sorts NULLs (rooms without messages: never unread) last in descending order.
      orderBy: [{ room: { lastMessageAt: 'desc' } }, { roomId: 'desc' }],
      select: { roomId: true, lastReadSeq: true, lastReadMessageId: true, joinedAt: true, room: { select: { lastMessageAt: true } } },
    });
    return rows.map(({ room, ...position }) => ({ ...position, lastMessageAt: room.lastMessageAt }));
  }

  /**
   * The current members of active rooms with their settings, per room, in one statement over
   * the (room_id, left_at) index; on the pool, since every batch of sent messages asks (Prisma's
   * nested result mapping was most of its cost).
   */
  async memberSettingsOf(roomIds: readonly number[]): Promise<Map<number, MemberSettings[]>> {
    const byRoom = new Map<number, MemberSettings[]>();
    if (roomIds.length === 0) return byRoom;
    const rows = await this.pool.query<{ room_id: number; user_id: number; muted: number; username: string }[]>(
      `SELECT m.room_id, m.user_id, m.muted, u.username FROM room_members m
        JOIN rooms r ON r.id = m.room_id AND r.is_active = TRUE
        JOIN users u ON u.id = m.user_id
        WHERE m.room_id IN (${roomIds.map(() => '?').join(', ')}) AND m.left_at IS NULL`,
      [...roomIds],
    );
    for (const row of rows) {
      const members = byRoom.get(row.room_id) ?? [];
      members.push({ userId: row.user_id, username: row.username, muted: Boolean(row.muted) });
      byRoom.set(row.room_id, members);
    }
    return byRoom;
  }

  async setMuted(roomId: number, userId: number, muted: boolean): Promise<boolean> {
    const { count } = await this.db.roomMember.updateMany({ where: { roomId, userId, leftAt: null }, data: { muted } });
    return count > 0;
  }

  /** Public group rooms the user is not in, newest first. */
  findDiscoverable(userId: number, page: PageOptions): Promise<RoomWithMembers[]> {
    return this.db.room.findMany({
      where: { type: 'group', isPrivate: false, isActive: true, members: { none: { userId, leftAt: null } } },
      orderBy: { id: 'desc' },
      take: page.limit,
      skip: page.offset,
      include: withMembers,
    });
  }

  async findMembership(roomId: number, userId: number): Promise<MembershipRecord | null> {
    const room = await this.db.room.findFirst({
      where: { id: roomId, isActive: true },
      select: {
        id: true,
        type: true,
        directKey: true,
        members: {
          where: { userId, leftAt: null },
          select: { role: true, lastReadMessageId: true, lastReadSeq: true, lastReadAt: true, joinedAt: true },
        },
      },
    });
    if (!room) return null;
    return { id: room.id, type: room.type, directKey: room.directKey, member: room.members[0] ?? null };
  }

  /** Whether anyone left the room after `since` (over the (room_id, left_at) index); null when there is no such room. */
  async anyoneLeftSince(roomId: number, since: Date): Promise<boolean | null> {
    const room = await this.db.room.findFirst({
      where: { id: roomId, isActive: true },
      select: { members: { where: { leftAt: { gt: since } }, select: { id: true }, take: 1 } },
    });
    return room ? room.members.length > 0 : null;
  }

  /**
   * Runs `work` with the room row locked, or with null when the room does not exist. `work`
   * must only use the locked room (one connection), never the pool.
   */
  withLock<T>(roomId: number, work: (locked: LockedRoom | null) => Promise<T>): Promise<T> {
    return this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: number }[]>`SELECT id FROM rooms WHERE id = ${roomId} AND is_active = true FOR UPDATE`;
      if (rows.length === 0) return work(null);
      const room = await tx.room.findUniqueOrThrow({ where: { id: roomId } });
      return work(new LockedRoom(tx, room));
    }, LOCK_TRANSACTION);
  }

  async setNickname(roomId: number, userId: number, nickname: string | null): Promise<boolean> {
    const { count } = await this.db.roomMember.updateMany({ where: { roomId, userId, leftAt: null }, data: { nickname } });
    return count > 0;
  }

  /**
   * Moves rooms.last_message_at of several rooms forward only, in one statement (rows locked in
   * id order). Runs after every group of messages sent, so it goes straight to the pool, and raw
   * so that updated_at keeps meaning "room edited".
   */
  async touchLastMessages(times: ReadonlyMap<number, Date>): Promise<void> {
    if (times.size === 0) return;
    const entries = [...times].sort(([a], [b]) => a - b);
    const when = `CASE id ${entries.map(() => 'WHEN ? THEN ?').join(' ')} END`;
    const cases = entries.flatMap(([roomId, at]) => [roomId, utcDateTime(at)]);
    const ids = entries.map(([roomId]) => roomId);
    // A deadlock victim (notification upserts hold the rows' foreign-key locks) did nothing: run it again.
    await retryOnConflict(() =>
      this.pool.query(
        `UPDATE rooms SET last_message_at = ${when} WHERE id IN (${ids.map(() => '?').join(', ')}) AND (last_message_at IS NULL OR last_message_at < ${when})`,
        [...cases, ...ids, ...cases],
      ),
    );
  }

  /** My read pointer, when I am a member. */
  readState(roomId: number, userId: number): Promise<Pick<RoomMember, 'lastReadMessageId' | 'lastReadSeq' | 'lastReadAt'> | null> {
    return this.db.roomMember.findFirst({
      where: { roomId, userId, leftAt: null },
      select: { lastReadMessageId: true, lastReadSeq: true, lastReadAt: true },
    });
  }

  /**
   * Moves my read pointer forward to the message at `seq`; false when it already was there or
   * further (the pointer never moves back), or I am not a member. One conditional UPDATE, so
   * concurrent read receipts need no retry loop.
   */
  async advanceLastRead(roomId: number, userId: number, messageId: string, seq: number, at: Date): Promise<boolean> {
    const { count } = await this.db.roomMember.updateMany({
      where: { roomId, userId, leftAt: null, lastReadSeq: { lt: seq } },
      data: { lastReadMessageId: messageId, lastReadSeq: seq, lastReadAt: at },
    });
    return count > 0;
  }

  /** Clean-ups of deleted rooms still owed, oldest first, requested before `before`. */
  async pendingPurges(before: Date, limit: number): Promise<number[]> {
    const rows = await this.db.roomPurge.findMany({
      where: { requestedAt: { lt: before } },
      orderBy: { requestedAt: 'asc' },
      take: limit,
      select: { roomId: true },
    });
    return rows.map((row) => row.roomId);
  }

  async finishPurge(roomId: number): Promise<void> {
    await this.db.roomPurge.deleteMany({ where: { roomId } });
  }

  async notePurgeFailure(roomId: number): Promise<void> {
    await this.db.roomPurge.updateMany({ where: { roomId }, data: { attempts: { increment: 1 } } });
  }
}
