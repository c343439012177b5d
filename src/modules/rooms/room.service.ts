import type { FastifyBaseLogger } from 'fastify';
import type { DomainEventOf } from '../../lib/domain-events.ts';
import type { RoomChange } from './room.events.ts';
import { badRequest, conflict, forbidden, notFound } from '../../lib/errors.ts';
import type { EventBus } from '../../plugins/events.ts';
import { isUniqueViolation } from '../../plugins/prisma.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import type { UserService } from '../users/user.service.ts';
import type { Membership, MembershipCache } from './membership.cache.ts';
import type { RoomActivity, RoomActivityQuery, RoomMessages } from './room-activity.ts';
import { canAddMember, canChangeRole, canDeleteOthersMessage, canDeleteRoom, canRemoveMember, canUpdateRoom, nextOwner } from './room.policy.ts';
import type { CreateGroupBody, RoomRole, RoomSettingsView, RoomType, RoomView, UnreadSummaryView, UpdateGroupBody } from './room.schemas.ts';
import {
  directKeyOf,
  directPeerOf,
  type ListedRoom,
  type LockedRoom,
  type MemberSettings,
  type PageOptions,
  type ReadPosition,
  type RoomMember,
  type RoomStore,
  type RoomWithMembers,
} from './room.store.ts';
import { toRoomView, toSharedRoomView } from './room.view.ts';

/** My membership of a room as MySQL has it now: role and read pointer included. */
export interface CurrentMembership {
  roomId: number;
  type: RoomType;
  role: RoomRole;
  /** The other member of a direct room. */
  peerId: number | null;
  lastReadMessageId: string | null;
  lastReadSeq: number;
  lastReadAt: Date | null;
  joinedAt: Date;
  /** Group owners and admins may delete others' messages (authors may always delete their own). */
  mayDeleteOthersMessages: boolean;
}

export interface ReadState {
  lastReadMessageId: string | null;
  lastReadSeq: number;
  lastReadAt: Date | null;
}

export type { MemberSettings };

/** A room with its members, as views are built from. */
type ViewedRoom = Omit<ListedRoom, 'activityAt'>;

/** What one member's last message and unread count in a room are asked with. */
function activityQuery(roomId: number, userId: number, position: ReadPosition): RoomActivityQuery {
  return { roomId, userId, lastReadSeq: Number(position.lastReadSeq), lastReadMessageId: position.lastReadMessageId, since: position.joinedAt };
}

/** Until the messages module attaches itself: rooms without messages. */
const NO_MESSAGES: RoomMessages = {
  summarize: async () => new Map(),
  settleActivity: async () => undefined,
  purgeRoom: async () => undefined,
};

/**
 * Newest activity first, as MySQL sorted them, with a room moved up when its last message
 * (read from the message store) is newer than its row's time: the row is written after the send
 * is answered, so one sent on another instance a moment ago may not be there yet.
 */
function newestActivityFirst<T extends { roomId: number; at: number }>(rooms: T[], summaries: ReadonlyMap<number, RoomActivity>): T[] {
  const at = (room: T) => {
    const last = summaries.get(room.roomId)?.lastMessage;
    return last ? Math.max(room.at, Date.parse(last.created_at)) : room.at;
  };
  return rooms
    .map((room) => ({ room, at: at(room) }))
    .sort((a, b) => b.at - a.at || b.room.roomId - a.room.roomId)
    .map(({ room }) => room);
}

export interface DirectRoomResult {
  room: RoomView;
  created: boolean;
}

export interface CreateOptions {
  /**
   * Runs once every rule has passed, right before a room is inserted (never for an existing
   * direct room); throwing refuses the creation. The routes count rooms created with it.
   */
  beforeCreate?: () => Promise<void>;
}

/** Rooms: direct and group rooms, membership, roles; every rule of the contract's Rooms section. */
export class RoomService {
  private messages: RoomMessages = NO_MESSAGES;

  constructor(
    private readonly store: RoomStore,
    private readonly users: UserService,
    private readonly relationships: RelationshipService,
    private readonly events: EventBus,
    private readonly log: FastifyBaseLogger,
    private readonly memberships: MembershipCache,
  ) {}

  /** The messages module registers what room views and deletions need from it. */
  attachMessages(messages: RoomMessages): void {
    this.messages = messages;
  }

  // ---- direct rooms -------------------------------------------------------------------------

  /** The direct room with `peerId`: created (201) or the existing one (200), never two. */
  async openDirect(userId: number, peerId: number, options: CreateOptions = {}): Promise<DirectRoomResult> {
    if (peerId === userId) throw badRequest('You cannot open a direct room with yourself');
    const [peer, blocked] = await Promise.all([
      this.users.findActiveById(peerId),
      this.relationships.isBlockedEitherWay(userId, peerId),
    ]);
    if (!peer) throw notFound(`User ${peerId} not found`);
    if (blocked) throw forbidden('You cannot open a direct room with this user');

    const key = directKeyOf(userId, peerId);
    const existing = await this.store.findDirectByKey(key);
    if (existing) return { room: await this.viewFor(userId, existing), created: false };
    await options.beforeCreate?.();
    try {
      const room = await this.store.createDirect(userId, peerId);
      await this.publishRoom('created', room, userId, [userId, peerId]);
      return { room: await this.viewFor(userId, room), created: true };
    } catch (error) {
      // A concurrent request created it between our read and our insert: the unique key won.
      if (!isUniqueViolation(error)) throw error;
      const winner = await this.store.findDirectByKey(key);
      if (!winner) throw error;
      return { room: await this.viewFor(userId, winner), created: false };
    }
  }

  // ---- reading ------------------------------------------------------------------------------

  /** A room I am in (404 otherwise, so non-members learn nothing). */
  async get(userId: number, roomId: number): Promise<RoomView> {
    const room = await this.store.findActive(roomId);
    if (!room || !room.members.some((member) => member.userId === userId)) throw notFound(`Room ${roomId} not found`);
    return this.viewFor(userId, room);
  }

  /** My rooms (of one type, or both), newest activity first. */
  async listMine(userId: number, type: RoomType | undefined, page: PageOptions): Promise<RoomView[]> {
    // This instance's own sends first: their activity times are written after their answers.
    await this.messages.settleActivity();
    const paged = await this.store.pageOfMember(userId, type, page);
    // My read positions came with the page: the members and my summaries are read together.
    const [rooms, summaries] = await Promise.all([
      this.store.withMembers(paged),
      this.messages.summarize(paged.map(({ row, mine }) => activityQuery(row.id, userId, mine))),
    ]);
    const sorted = newestActivityFirst(rooms.map((room) => ({ roomId: room.id, at: room.activityAt.getTime(), room })), summaries);
    return sorted.map(({ room }) => toRoomView(room, summaries.get(room.id)));
  }

  /** The ids of every room I am in now (for streams that follow all my rooms). */
  roomIdsOf(userId: number): Promise<number[]> {
    return this.store.memberRoomIds(userId);
  }

  /** Public group rooms I am not in (no last message or unread count: I cannot read them yet). */
  async discover(userId: number, page: PageOptions): Promise<RoomView[]> {
    const rooms = await this.store.findDiscoverable(userId, page);
    return rooms.map((room) => toRoomView(room, undefined));
  }

  /**
   * My membership read fresh from MySQL, with my role and read pointer: for anything that
   * depends on them (editing, deleting, reacting, read receipts). 404 unknown room, 403 not a member.
   */
  async currentMembership(userId: number, roomId: number): Promise<CurrentMembership> {
    const record = await this.store.findMembership(roomId, userId);
    if (!record) throw notFound(`Room ${roomId} not found`);
    if (!record.member) throw forbidden(`You are not a member of room ${roomId}`);
    return {
      roomId: record.id,
      type: record.type,
      role: record.member.role,
      peerId: record.type === 'direct' ? directPeerOf(record.directKey, userId) : null,
      lastReadMessageId: record.member.lastReadMessageId,
      lastReadSeq: Number(record.member.lastReadSeq),
      lastReadAt: record.member.lastReadAt,
      joinedAt: record.member.joinedAt,
      mayDeleteOthersMessages: canDeleteOthersMessage(record.type, record.member.role),
    };
  }

  /**
   * Whether anyone left or was removed from the room after `since`, read fresh from MySQL (for
   * links given to the whole room at `since`). 404 for an unknown room.
   */
  async anyoneLeftSince(roomId: number, since: Date): Promise<boolean> {
    const left = await this.store.anyoneLeftSince(roomId, since);
    if (left === null) throw notFound(`Room ${roomId} not found`);
    return left;
  }

  /** My read pointer as MySQL has it now; null once I am not a member. */
  async readState(roomId: number, userId: number): Promise<ReadState | null> {
    const state = await this.store.readState(roomId, userId);
    return state ? { ...state, lastReadSeq: Number(state.lastReadSeq) } : null;
  }

  /** Moves my read pointer forward to that message; false when it was already there or further. */
  advanceReadPointer(roomId: number, userId: number, message: { id: string; seq: number }, at: Date): Promise<boolean> {
    return this.store.advanceLastRead(roomId, userId, message.id, message.seq, at);
  }

  /** Messages were stored in these rooms at these times: each room's activity time (room lists sort by it) never moves back. */
  recordMessageActivity(times: ReadonlyMap<number, Date>): Promise<void> {
    return this.store.touchLastMessages(times);
  }

  /**
   * Membership only (no role or read state), answered from the per-process cache (up to
   * 10 s old) when it can: for the hot paths of reading history, sending and joining live
   * rooms. 404 unknown room, 403 not a member.
   */
  async cachedMembership(userId: number, roomId: number): Promise<Membership> {
    const cached = this.memberships.get(roomId, userId);
    if (cached) return cached;
    const { type, peerId, joinedAt } = await this.currentMembership(userId, roomId);
    const membership = { roomId, type, peerId, joinedAt };
    this.memberships.remember(userId, membership);
    return membership;
  }

  /** Another instance changed this room's members: forget what this process cached of it. */
  forgetMemberships(roomId: number): void {
    this.memberships.forgetRoom(roomId);
  }

  // ---- my settings and unread counts ----------------------------------------------------------

  /** Mutes or unmutes a room for me (members only: 404 unknown room, 403 not a member). */
  async setMuted(userId: number, roomId: number, muted: boolean): Promise<RoomSettingsView> {
    await this.currentMembership(userId, roomId);
    if (!(await this.store.setMuted(roomId, userId, muted))) throw forbidden(`You are not a member of room ${roomId}`);
    this.log.info({ userId, roomId, muted }, 'room settings changed');
    return { room_id: roomId, muted };
  }

  /** My unread counts, only rooms with some: one query for my memberships and one batched message-store call. */
  async unreadSummary(userId: number): Promise<UnreadSummaryView> {
    await this.messages.settleActivity();
    const positions = await this.store.readPositionsOf(userId);
    const summaries = await this.messages.summarize(positions.map((position) => activityQuery(position.roomId, userId, position)));
    const sorted = newestActivityFirst(positions.map((position) => ({ roomId: position.roomId, at: position.lastMessageAt?.getTime() ?? 0 })), summaries);
    const rooms = sorted.flatMap(({ roomId }) => {
      const unreadCount = summaries.get(roomId)?.unreadCount ?? 0;
      return unreadCount > 0 ? [{ room_id: roomId, unread_count: unreadCount }] : [];
    });
    return { total: rooms.reduce((sum, room) => sum + room.unread_count, 0), rooms };
  }

  /** My unread count in one room; null when I am not a member of it (or it does not exist). */
  async unreadCount(userId: number, roomId: number): Promise<number | null> {
    const record = await this.store.findMembership(roomId, userId);
    if (!record?.member) return null;
    const summaries = await this.messages.summarize([activityQuery(roomId, userId, record.member)]);
    return summaries.get(roomId)?.unreadCount ?? 0;
  }

  /** The current members of rooms with the settings notifications honour, in one query; an unknown room has no entry. */
  memberSettingsOf(roomIds: readonly number[]): Promise<Map<number, MemberSettings[]>> {
    return this.store.memberSettingsOf(roomIds);
  }

  // ---- group rooms ---------------------------------------------------------------------------

  /** A new group room; `member_ids` must be my friends (403 for anyone else). */
  async createGroup(userId: number, body: CreateGroupBody, options: CreateOptions = {}): Promise<RoomView> {
    const memberIds = [...new Set(body.member_ids)].filter((id) => id !== userId);
    if (memberIds.length + 1 > body.max_members) {
      throw badRequest(`max_members is ${body.max_members}, but ${memberIds.length + 1} members were given`);
    }
    await this.checkCandidates(userId, memberIds);
    await options.beforeCreate?.();
    const room = await this.store.createGroup({
      name: body.name,
      description: body.description || null,
      isPrivate: body.is_private,
      maxMembers: body.max_members,
      createdBy: userId,
      memberIds,
    });
    this.log.info({ userId, roomId: room.id }, 'group room created');
    await this.publishRoom('created', room, userId, [userId, ...memberIds]);
    return this.viewFor(userId, room);
  }

  /** Joins a public room; joining a room I am already in is a no-op that returns it (200). */
  async join(userId: number, roomId: number): Promise<RoomView> {
    const joined = await this.withGroup(roomId, async (locked) => {
      if (await locked.member(userId)) return false;
      if (locked.room.isPrivate) throw forbidden(`Room ${roomId} is private: an owner or admin must add you`);
      if ((await locked.countActive()) >= locked.room.maxMembers) throw conflict(`Room ${roomId} is full`);
      await locked.addMember(userId, 'member');
      return true;
    });
    const room = await this.mustFind(roomId);
    if (joined) await this.publishRoom('member_joined', room, userId, [userId]);
    return this.viewFor(userId, room);
  }

  /**
   * Leaves a group room. An owner hands ownership to the oldest admin, else the oldest member;
   * the last member leaving deletes the room (nobody could ever reach it again).
   */
  async leave(userId: number, roomId: number): Promise<void> {
    const outcome = await this.withGroup(roomId, async (locked) => {
      const me = await this.requireMember(locked, userId);
      await locked.markLeft(userId);
      const remaining = await locked.activeMembers();
      if (remaining.length === 0) {
        await locked.delete();
        return { deleted: true as const };
      }
      const successor = me.role === 'owner' ? nextOwner(remaining) : undefined;
      if (successor) await locked.setRole(successor.userId, 'owner');
      return { deleted: false as const, successorId: successor?.userId };
    });
    if (outcome.deleted) {
      await this.afterDelete(roomId, userId, [userId]);
      return;
    }
    const room = await this.mustFind(roomId);
    const affected = outcome.successorId === undefined ? [userId] : [userId, outcome.successorId];
    await this.publishRoom('member_left', room, userId, affected);
  }

  async update(userId: number, roomId: number, changes: UpdateGroupBody): Promise<RoomView> {
    await this.withGroup(roomId, async (locked) => {
      const me = await this.requireMember(locked, userId);
      if (!canUpdateRoom(me.role)) throw forbidden('Only the owner or an admin can change the room');
      if (changes.max_members !== undefined && changes.max_members < (await locked.countActive())) {
        throw conflict(`Room ${roomId} already has more than ${changes.max_members} members`);
      }
      await locked.update({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description || null } : {}),
        ...(changes.is_private !== undefined ? { isPrivate: changes.is_private } : {}),
        ...(changes.max_members !== undefined ? { maxMembers: changes.max_members } : {}),
      });
    });
    const room = await this.mustFind(roomId);
    await this.publishRoom('updated', room, userId, []);
    return this.viewFor(userId, room);
  }

  async addMember(actorId: number, roomId: number, targetId: number, role: 'admin' | 'member'): Promise<RoomView> {
    // Checked before taking the room lock (a locked transaction must not wait for a second
    // pooled connection), reported after the permission check.
    const candidateProblem = await this.checkCandidates(actorId, [targetId]).then(
      () => null,
      (error: unknown) => error,
    );
    await this.withGroup(roomId, async (locked) => {
      const actor = await this.requireMember(locked, actorId);
      if (!canAddMember(actor.role, role)) {
        throw forbidden(actor.role === 'admin' ? 'Only the owner can add admins' : 'Only the owner or an admin can add members');
      }
      if (await locked.member(targetId)) throw conflict(`User ${targetId} is already a member`);
      if (candidateProblem) throw candidateProblem;
      if ((await locked.countActive()) >= locked.room.maxMembers) throw conflict(`Room ${roomId} is full`);
      await locked.addMember(targetId, role);
    });
    const room = await this.mustFind(roomId);
    await this.publishRoom('member_added', room, actorId, [targetId]);
    return this.viewFor(actorId, room);
  }

  async removeMember(actorId: number, roomId: number, targetId: number): Promise<void> {
    await this.withGroup(roomId, async (locked) => {
      const actor = await this.requireMember(locked, actorId);
      const target = await locked.member(targetId);
      if (!target) throw notFound(`User ${targetId} is not a member of room ${roomId}`);
      if (!canRemoveMember(actor.role, target.role)) {
        throw forbidden(target.role === 'owner' ? 'The owner cannot be removed' : 'You cannot remove this member');
      }
      await locked.markLeft(targetId);
    });
    const room = await this.mustFind(roomId);
    await this.publishRoom('member_removed', room, actorId, [targetId]);
  }

  async changeRole(actorId: number, roomId: number, targetId: number, role: 'admin' | 'member'): Promise<RoomView> {
    await this.withGroup(roomId, async (locked) => {
      const actor = await this.requireMember(locked, actorId);
      const target = await locked.member(targetId);
      if (!target) throw notFound(`User ${targetId} is not a member of room ${roomId}`);
      if (!canChangeRole(actor.role, target.role)) {
        throw forbidden(target.role === 'owner' ? "The owner's role cannot be changed" : 'Only the owner can change roles');
      }
      await locked.setRole(targetId, role);
    });
    const room = await this.mustFind(roomId);
    await this.publishRoom('role_changed', room, actorId, [targetId]);
    return this.viewFor(actorId, room);
  }

  /** My name in this room; null or "" resets it to my profile name. */
  async setNickname(userId: number, roomId: number, nickname: string | null): Promise<RoomView> {
    const access = await this.store.findMembership(roomId, userId);
    if (!access || access.type !== 'group') throw notFound(`Group room ${roomId} not found`);
    if (!access.member || !(await this.store.setNickname(roomId, userId, nickname || null))) {
      throw forbidden(`You are not a member of room ${roomId}`);
    }
    const room = await this.mustFind(roomId);
    await this.publishRoom('nickname_changed', room, userId, [userId]);
    return this.viewFor(userId, room);
  }

  async delete(userId: number, roomId: number): Promise<void> {
    const memberIds = await this.withGroup(roomId, async (locked) => {
      const me = await this.requireMember(locked, userId);
      if (!canDeleteRoom(me.role)) throw forbidden('Only the owner can delete the room');
      const members = await locked.activeMembers();
      await locked.delete();
      return members.map((member) => member.userId);
    });
    this.log.info({ userId, roomId }, 'group room deleted');
    await this.afterDelete(roomId, userId, memberIds);
  }

  // ---- helpers -------------------------------------------------------------------------------

  /**
   * Users about to be added by `actorId`: they must exist, be active, not be blocked either way,
   * and be the actor's accepted friends (nobody is put into a group by a stranger). Three
   * batched reads, whatever the number of users.
   */
  private async checkCandidates(actorId: number, userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    const [active, blocked, friends] = await Promise.all([
      this.users.activeIds(userIds),
      this.relationships.blockedAmong(actorId, userIds),
      this.relationships.friendsAmong(actorId, userIds),
    ]);
    const plural = (ids: readonly number[]) => (ids.length > 1 ? 's' : '');
    const missing = userIds.filter((id) => !active.has(id));
    if (missing.length > 0) throw notFound(`User${plural(missing)} ${missing.join(', ')} not found`);
    const blockedIds = userIds.filter((id) => blocked.has(id));
    if (blockedIds.length > 0) throw forbidden(`You cannot add user${plural(blockedIds)} ${blockedIds.join(', ')}`);
    const strangers = userIds.filter((id) => !friends.has(id));
    if (strangers.length > 0) {
      throw forbidden(`Only your friends can be added to a group: user${plural(strangers)} ${strangers.join(', ')} ${strangers.length > 1 ? 'are' : 'is'} not`);
    }
  }

  private withGroup<T>(roomId: number, work: (locked: LockedRoom) => Promise<T>): Promise<T> {
    return this.store.withLock(roomId, async (locked) => {
      if (!locked || locked.room.type !== 'group') throw notFound(`Group room ${roomId} not found`);
      return work(locked);
    });
  }

  private async requireMember(locked: LockedRoom, userId: number): Promise<RoomMember> {
    const member = await locked.member(userId);
    if (!member) throw forbidden(`You are not a member of room ${locked.room.id}`);
    return member;
  }

  private async mustFind(roomId: number): Promise<RoomWithMembers> {
    const room = await this.store.findActive(roomId);
    if (!room) throw notFound(`Room ${roomId} not found`);
    return room;
  }

  private async viewFor(userId: number, room: RoomWithMembers): Promise<RoomView> {
    const [view] = await this.viewsFor(userId, [room]);
    return view ?? toRoomView(room, undefined);
  }

  /** Room views with my last message and unread count: one batched message-store call. */
  private async viewsFor(userId: number, rooms: readonly ViewedRoom[]): Promise<RoomView[]> {
    const summaries = await this.summariesFor(userId, rooms);
    return rooms.map((room) => toRoomView(room, summaries.get(room.id)));
  }

  /** My last message and unread count of each room: one batched message-store call. */
  private summariesFor(userId: number, rooms: readonly ViewedRoom[]): Promise<Map<number, RoomActivity>> {
    const queries = rooms.flatMap((room) => {
      const me = room.members.find((member) => member.userId === userId);
      return me ? [activityQuery(room.id, userId, me)] : [];
    });
    return this.messages.summarize(queries);
  }

  private async afterDelete(roomId: number, actorId: number, memberIds: number[]): Promise<void> {
    await this.purge(roomId);
    await this.publish({ type: 'room_changed', room_id: roomId, change: 'deleted', actor_id: actorId, member_ids: memberIds, room: null });
  }

  /**
   * A deleted room's messages and caches; on failure the purge stays recorded (written with the
   * deletion) and `retryPurges` runs it again later. Never rejects.
   */
  private async purge(roomId: number): Promise<boolean> {
    try {
      await this.messages.purgeRoom(roomId);
      await this.store.finishPurge(roomId);
      return true;
    } catch (error) {
      this.log.error({ err: error, roomId }, 'clean-up after a room deletion failed; it will be retried');
      await this.store.notePurgeFailure(roomId).catch(() => {});
      return false;
    }
  }

  /**
   * Runs the clean-ups that failed (or whose instance stopped before doing them), oldest first.
   * Purging is idempotent, so instances retrying the same room at once do no harm. `graceMs`
   * leaves a fresh deletion to the request that made it.
   */
  async retryPurges(graceMs: number, batch = 50): Promise<{ done: number; failed: number }> {
    const roomIds = await this.store.pendingPurges(new Date(Date.now() - graceMs), batch);
    let done = 0;
    for (const roomId of roomIds) if (await this.purge(roomId)) done += 1;
    return { done, failed: roomIds.length - done };
  }

  private publishRoom(change: RoomChange, room: RoomWithMembers, actorId: number, memberIds: number[]): Promise<void> {
    return this.publish({
      type: 'room_changed',
      room_id: room.id,
      change,
      actor_id: actorId,
      member_ids: memberIds,
      room: toSharedRoomView(room),
    });
  }

  private async publish(event: DomainEventOf<'room_changed'>): Promise<void> {
    this.memberships.forgetRoom(event.room_id);
    await this.events.publishAfterCommit(event, this.log.child({ roomId: event.room_id, userId: event.actor_id }));
  }
}
