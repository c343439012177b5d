import type { User } from '../../generated/prisma/client.ts';
import type { UserView } from './user.schemas.ts';

export type UserRecord = User;

export function toUserView(user: UserRecord, options: { showEmail: boolean }): UserView {
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
