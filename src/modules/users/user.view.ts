import type { User } from '../../generated/prisma/client.ts';
import { type FriendStanding, NO_STANDING } from './relationship.service.ts';
import type { DirectoryEntry, UserSummary, UserView } from './user.schemas.ts';

export type UserRecord = User;

/** The columns a `user` object is made of. */
export type UserViewSource = Pick<
  UserRecord,
  'id' | 'email' | 'username' | 'displayName' | 'profileImageUrl' | 'statusMessage' | 'isOnline' | 'lastSeenAt' | 'createdAt'
>;

/** The columns of a user summary (search results). */
export type DirectorySource = Pick<UserRecord, 'id' | 'username' | 'displayName' | 'profileImageUrl'>;

export function toUserView(user: UserViewSource, options: { showEmail: boolean }): UserView {
  return {
    id: user.id,
    email: options.showEmail ? user.email : null,
    username: user.username,
    display_name: user.displayName,
    profile_image_url: user.profileImageUrl,
    status_message: user.statusMessage,
    is_online: user.isOnline,
    last_seen_at: user.lastSeenAt?.toISOString() ?? null,
    created_at: user.createdAt.toISOString(),
  };
}

export function toUserSummary(user: DirectorySource): UserSummary {
  return { user_id: user.id, username: user.username, display_name: user.displayName, profile_image_url: user.profileImageUrl };
}

export function toDirectoryEntry(user: DirectorySource, standing: FriendStanding = NO_STANDING): DirectoryEntry {
  return { ...toUserSummary(user), is_friend: standing.isFriend, friend_request: standing.friendRequest };
}
