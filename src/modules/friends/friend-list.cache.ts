import type { Page } from './friends.schemas.ts';
import type { FriendRow } from './friends.store.ts';

/**
 * How long a cached page is believed without any event. Every change made through the API
 * reaches every instance as a domain event and drops the affected lists at once; this bounds
 * what no event announces (an account deactivated in the database) and a lost event.
 */
export const FRIEND_LIST_TTL_MS = 10_000;

interface Entry {
  rows: readonly FriendRow[];
  expiresAt: number;
}

/**
 * The relational part of friend lists (who my friends are, with their names, email and
 * picture), per process and per page asked. Presence (`is_online`, last seen) is not served
 * from here: it is live data, read from Redis on every request (the rows keep MySQL's copy only
 * as the fallback for when Redis has none).
 *
 * Dropped by the owner (their friendships changed) or by a member (that friend's profile
 * changed: every list they appear in goes). A page loaded from MySQL is kept only if no drop
 * happened while it was being read (`generation`), so a read that raced a change can never be
 * cached over it.
 */
export class FriendListCache {
  /** owner → page key → rows. Map order is insertion order: the first owner is the oldest. */
  private readonly byOwner = new Map<number, Map<string, Entry>>();
  /** friend → owners whose cached pages list them. */
  private readonly ownersOf = new Map<number, Set<number>>();
  private dropped = 0;

  constructor(
    private readonly ttlMs = FRIEND_LIST_TTL_MS,
    private readonly maxOwners = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Changes with every drop; pass the value read before loading a page to `set`. */
  get generation(): number {
    return this.dropped;
  }

  get(ownerId: number, page: Page): readonly FriendRow[] | undefined {
    const entry = this.byOwner.get(ownerId)?.get(pageKey(page));
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.rows;
    this.dropOwner(ownerId);
    return undefined;
  }

  /** Keeps a page read from MySQL, unless anything was dropped since `generation` was read. */
  set(ownerId: number, page: Page, rows: readonly FriendRow[], generation: number): void {
    if (generation !== this.dropped) return;
    let pages = this.byOwner.get(ownerId);
    if (!pages) {
      if (this.byOwner.size >= this.maxOwners) this.evictOldest();
      pages = new Map();
      this.byOwner.set(ownerId, pages);
    }
    pages.set(pageKey(page), { rows, expiresAt: this.now() + this.ttlMs });
    for (const row of rows) {
      const owners = this.ownersOf.get(row.id) ?? new Set<number>();
      owners.add(ownerId);
      this.ownersOf.set(row.id, owners);
    }
  }

  /** `ownerId`'s friendships changed: their pages go. */
  dropOwner(ownerId: number): void {
    this.dropped += 1;
    const pages = this.byOwner.get(ownerId);
    if (!pages) return;
    this.byOwner.delete(ownerId);
    for (const entry of pages.values()) {
      for (const row of entry.rows) {
        const owners = this.ownersOf.get(row.id);
        owners?.delete(ownerId);
        if (owners?.size === 0) this.ownersOf.delete(row.id);
      }
    }
  }

  /** `userId`'s profile changed: every page listing them goes. */
  dropMember(userId: number): void {
    this.dropped += 1;
    for (const ownerId of [...(this.ownersOf.get(userId) ?? [])]) this.dropOwner(ownerId);
  }

  /** Owners with cached pages (for tests and sizing). */
  get size(): number {
    return this.byOwner.size;
  }

  private evictOldest(): void {
    const oldest = this.byOwner.keys().next();
    if (!oldest.done) this.dropOwner(oldest.value);
  }
}

const pageKey = (page: Page) => `${page.limit}:${page.offset}`;
