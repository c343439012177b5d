import type { RoomRole, RoomType } from './room.schemas.ts';

/**
 * Who may do what in a room: one function per action, nothing else decides it.
 * Group rooms: one owner, any number of admins and members. Direct rooms have two members.
 */

const isManager = (role: RoomRole) => role === 'owner' || role === 'admin';

/** PATCH the room (name, description, privacy, max_members). */
export const canUpdateRoom = (actor: RoomRole): boolean => isManager(actor);

/** Add a user with `role`; only the owner hands out admin. */
export const canAddMember = (actor: RoomRole, role: Exclude<RoomRole, 'owner'>): boolean =>
  actor === 'owner' || (actor === 'admin' && role === 'member');

/** Remove another member: never the owner; admins only plain members. */
export const canRemoveMember = (actor: RoomRole, target: RoomRole): boolean =>
  target !== 'owner' && (actor === 'owner' || (actor === 'admin' && target === 'member'));

/** Make someone admin or member: the owner only, never of the owner. */
export const canChangeRole = (actor: RoomRole, target: RoomRole): boolean => actor === 'owner' && target !== 'owner';

/** Delete the whole room. */
export const canDeleteRoom = (actor: RoomRole): boolean => actor === 'owner';

/** Delete someone else's message: group owners and admins (authors may always delete their own). */
export const canDeleteOthersMessage = (roomType: RoomType, actor: RoomRole): boolean =>
  roomType === 'group' && isManager(actor);

export interface SuccessionCandidate {
  userId: number;
  role: RoomRole;
  joinedAt: Date;
  id: number;
}

/** Who becomes owner when the owner leaves: the oldest admin, else the oldest member. */
export function nextOwner(remaining: readonly SuccessionCandidate[]): SuccessionCandidate | undefined {
  const oldestFirst = [...remaining].sort((a, b) => a.joinedAt.getTime() - b.joinedAt.getTime() || a.id - b.id);
  return oldestFirst.find((member) => member.role === 'admin') ?? oldestFirst[0];
}
