/** Redis names of the presence contract. */
export const ONLINE_USERS_SET = 'online_users';
/**
 * Sorted set: user id → when their online key is due to expire (epoch ms). Redis reclaims
 * expired keys lazily when most keys with a TTL are long-lived (the 7-day last-seen stamps),
 * and the `expired` event only fires on reclamation; the monitor uses this index to touch due
 * keys so the event (and the offline status) is not late.
 */
export const ONLINE_EXPIRY_ZSET = 'online_expiry';
export const PRESENCE_CHANNEL = 'presence:status';

/**
 * The pub/sub channel of a deployment on Redis logical database `db`. Pub/sub ignores SELECT:
 * deployments (or test runs) sharing a Redis server on different db indexes would otherwise
 * hear each other's user ids. db 0 keeps the plain name.
 */
export const presenceChannel = (db: number) => (db === 0 ? PRESENCE_CHANNEL : `${PRESENCE_CHANNEL}:${db}`);
export const LAST_SEEN_TTL_S = 7 * 24 * 3600;
export const onlineKey = (userId: number) => `user:online:${userId}`;
export const lastSeenKey = (userId: number) => `user:last_seen:${userId}`;
export const ONLINE_KEY_PATTERN = /^user:online:(\d+)$/;

/** Keyspace notifications the heartbeat monitor needs: keyevent (E) for expired keys (x). */
export const REQUIRED_KEYSPACE_FLAGS = 'Ex';

/** Channel carrying the names of keys that expired in Redis logical database `db`. */
export const expiredEventsChannel = (db: number) => `__keyevent@${db}__:expired`;

/** One change of one user's presence, as published on PRESENCE_CHANNEL (once per change). */
export interface PresenceChange {
  user_id: number;
  is_online: boolean;
  last_seen_at: string | null;
  /** When the change happened (epoch ms); lets consumers measure delivery latency. */
  at: number;
}

/**
 * Published on PRESENCE_CHANNEL instead of a change when MySQL's copy of a user's presence was
 * written although their status did not change (a logout of a user already offline re-stamps
 * `last_seen_at`): no stream hears of it, but every instance learns the row changed.
 */
export interface PresenceRestamp {
  user_id: number;
  restamped: true;
}

/** What one message on PRESENCE_CHANNEL says; null when malformed. */
export type PresenceMessage = { kind: 'change'; change: PresenceChange } | { kind: 'restamp'; userId: number } | null;

function parseObject(raw: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
}

function toPresenceChange(value: Record<string, unknown>): PresenceChange | null {
  const change = value as Partial<PresenceChange>;
  if (!Number.isSafeInteger(change.user_id) || typeof change.is_online !== 'boolean') return null;
  return {
    user_id: change.user_id as number,
    is_online: change.is_online,
    last_seen_at: typeof change.last_seen_at === 'string' ? change.last_seen_at : null,
    at: typeof change.at === 'number' ? change.at : Date.now(),
  };
}

/** A change of status; null for anything else (a restamp included). */
export function parsePresenceChange(raw: string): PresenceChange | null {
  const value = parseObject(raw);
  return value && toPresenceChange(value);
}

export function parsePresenceMessage(raw: string): PresenceMessage {
  const value = parseObject(raw);
  if (!value) return null;
  if (value.restamped === true) return Number.isSafeInteger(value.user_id) ? { kind: 'restamp', userId: value.user_id as number } : null;
  const change = toPresenceChange(value);
  return change && { kind: 'change', change };
}
