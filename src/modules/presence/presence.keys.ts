/** Redis names of the presence contract. */
export const ONLINE_USERS_SET = 'online_users';
export const PRESENCE_CHANNEL = 'presence:status';
export const LAST_SEEN_TTL_S = 7 * 24 * 3600;
export const onlineKey = (userId: number) => `user:online:${userId}`;
export const lastSeenKey = (userId: number) => `user:last_seen:${userId}`;
export const ONLINE_KEY_PATTERN = /^user:online:(\d+)$/;

export interface PresenceChange {
  user_id: number;
  is_online: boolean;
  last_seen_at: string | null;
}
