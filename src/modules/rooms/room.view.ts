import type { RoomActivity } from './room-activity.ts';
import type { RoomMemberView, RoomView } from './room.schemas.ts';
import type { Room, RoomMember } from './room.store.ts';

/** A room as every member sees it alike (events carry this; the API adds my last_message/unread_count). */
export type SharedRoomView = Omit<RoomView, 'last_message' | 'unread_count'>;

/** What a member's view is made of: a Prisma include (`withMembers`) or a room list's row. */
export type MemberViewSource = Pick<RoomMember, 'userId' | 'nickname' | 'role' | 'joinedAt'> & { user: { username: string; displayName: string | null } };

/** What a room's view is made of. */
export interface RoomViewSource extends Pick<Room, 'id' | 'type' | 'name' | 'description' | 'isPrivate' | 'maxMembers' | 'createdBy' | 'createdAt' | 'updatedAt'> {
  members: MemberViewSource[];
}

export function toMemberView(member: MemberViewSource): RoomMemberView {
  return {
    user_id: member.userId,
    username: member.user.username,
    display_name: member.user.displayName,
    nickname: member.nickname,
    role: member.role,
    joined_at: member.joinedAt.toISOString(),
  };
}

export function toSharedRoomView(room: RoomViewSource): SharedRoomView {
  return {
    id: room.id,
    type: room.type,
    name: room.name,
    description: room.description,
    is_private: room.isPrivate,
    max_members: room.maxMembers,
    created_by: room.createdBy,
    created_at: room.createdAt.toISOString(),
    updated_at: room.updatedAt.toISOString(),
    members: room.members.map(toMemberView),
  };
}

export function toRoomView(room: RoomViewSource, activity: RoomActivity | undefined): RoomView {
  return {
    ...toSharedRoomView(room),
    last_message: activity?.lastMessage ?? null,
    unread_count: activity?.unreadCount ?? 0,
  };
}
