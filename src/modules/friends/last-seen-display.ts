const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

export interface LastSeenInput {
  isOnline: boolean;
  lastSeenAt: Date | null;
}

/**
 * The friend list's Korean "last seen" label, relative to `now`: online or under 5 minutes
 * "방금전", 5-59 minutes "N분 전", 1-23 hours "N시간 전", otherwise "N일 전" (all rounded down).
 * A timestamp in the future (clock skew) counts as "방금전". Null when the user is offline and
 * was never seen.
 */
export function lastSeenDisplay({ isOnline, lastSeenAt }: LastSeenInput, now: Date): string | null {
  if (isOnline) return '방금전';
  if (!lastSeenAt) return null;
  const elapsedMs = now.getTime() - lastSeenAt.getTime();
  if (elapsedMs < 5 * MINUTE_MS) return '방금전';
  if (elapsedMs < HOUR_MS) return `${Math.floor(elapsedMs / MINUTE_MS)}분 전`;
  if (elapsedMs < DAY_MS) return `${Math.floor(elapsedMs / HOUR_MS)}시간 전`;
  return `${Math.floor(elapsedMs / DAY_MS)}일 전`;
}
