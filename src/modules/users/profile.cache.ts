import type { UserViewSource } from './user.view.ts';

/**
 * How long a cached profile row is believed without any event. Every change made through the
 * API drops it on every instance at once (`user_changed`, the presence publication that
 * follows each write of is_online/last_seen_at: UserService.presenceStored); this bounds
 * what no event announces: an account deactivated or deleted in the database, a lost event.
 */
export const PROFILE_TTL_MS = 2000;
/** Users whose row one process keeps; the oldest goes first. */
export const PROFILE_CACHE_MAX_USERS = 50_000;

interface Entry {
  row: UserViewSource;
  expiresAt: number;
}

/**
 * The user's own row as profiles show it (active users only), per process. Nothing that depends
 * on the viewer (friendship, blocks) is kept here: that is asked on every request.
 *
 * A row loaded from MySQL is kept only if no drop happened while it was being read
 * (`generation`), so a read that raced a change can never be cached over it.
 */
export class ProfileCache {
  /** Map order is insertion order: the first user is the oldest. */
  private readonly rows = new Map<number, Entry>();
  private dropped = 0;

  constructor(
    private readonly ttlMs = PROFILE_TTL_MS,
    private readonly maxUsers = PROFILE_CACHE_MAX_USERS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Changes with every drop; pass the value read before loading a row to `set`. */
  get generation(): number {
    return this.dropped;
  }

  get(userId: number): UserViewSource | undefined {
    const entry = this.rows.get(userId);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.row;
    this.rows.delete(userId);
    return undefined;
  }

  /** Keeps a row read from MySQL, unless anything was dropped since `generation` was read. */
  set(userId: number, row: UserViewSource, generation: number): void {
    if (generation !== this.dropped) return;
    this.rows.delete(userId);
    if (this.rows.size >= this.maxUsers) this.evictOldest();
    this.rows.set(userId, { row, expiresAt: this.now() + this.ttlMs });
  }

  /** These users' rows changed. */
  drop(userIds: readonly number[]): void {
    this.dropped += 1;
    for (const userId of userIds) this.rows.delete(userId);
  }

  /** Users with a cached row (for tests and sizing). */
  get size(): number {
    return this.rows.size;
  }

  private evictOldest(): void {
    const oldest = this.rows.keys().next();
    if (!oldest.done) this.rows.delete(oldest.value);
  }
}
