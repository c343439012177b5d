import type { FastifyBaseLogger } from 'fastify';
import { notFound } from '../../lib/errors.ts';
import type { EventBus } from '../../plugins/events.ts';
import { ProfileCache } from './profile.cache.ts';
import type { RelationshipService } from './relationship.service.ts';
import type { DirectoryEntry, UserView } from './user.schemas.ts';
import type { NewUser, ProfileChanges, UserStore } from './user.store.ts';
import { toDirectoryEntry, toUserView, type UserRecord, type UserViewSource } from './user.view.ts';

export type { NewUser, ProfileChanges };

/** Nobody blocks themself (the blocks module refuses it), so one's own profile needs no relationship query. */
const SELF = { isFriend: false, visible: true } as const;

/** Accounts as other modules read and change them: the only way into the users table. */
export class UserService {
  /**
   * Rows `view` shows; every instance drops a user's on `user_changed` (see index.ts) and on
   * the presence module's publication that follows each write of is_online/last_seen_at
   * (presenceStored).
   */
  readonly profiles = new ProfileCache();

  constructor(
    private readonly store: UserStore,
    private readonly relationships: RelationshipService,
    private readonly events: Pick<EventBus, 'publishAfterCommit'>,
    private readonly log: FastifyBaseLogger,
  ) {}

  findById(id: number): Promise<UserRecord | null> {
    return this.store.findById(id);
  }

  findActiveById(id: number): Promise<UserRecord | null> {
    return this.store.findActiveById(id);
  }

  /** Which of these users exist and are active, in one query. */
  activeIds(userIds: readonly number[]): Promise<Set<number>> {
    return this.store.activeIds(userIds);
  }

  /** Login accepts either the email or the username. */
  findByLogin(identifier: string): Promise<UserRecord | null> {
    return this.store.findByLogin(identifier);
  }

  findTaken(email: string, username: string): Promise<Pick<UserRecord, 'email' | 'username'> | null> {
    return this.store.findTaken(email, username);
  }

  create(user: NewUser): Promise<UserRecord> {
    return this.store.create(user);
  }

  /**
   * Changes profile fields; every instance hears of it (`user_changed`: cached profiles and
   * friend lists drop them). Dropped here at once too, so this instance never answers with the
   * old row while the event is on its way.
   */
  async update(id: number, changes: ProfileChanges): Promise<UserRecord> {
    const user = await this.store.update(id, changes);
    this.profiles.drop([id]);
    await this.events.publishAfterCommit({ type: 'user_changed', user_id: id }, this.log);
    return user;
  }

  /**
   * MySQL's copy of the online flag (Redis holds the live one). Profiles show it: this instance
   * drops its cached one at once; the presence module's publication, sent after this resolves,
   * has every instance drop theirs (presenceStored).
   */
  async setOnline(id: number, isOnline: boolean, lastSeenAt?: Date): Promise<void> {
    await this.store.setOnline(id, isOnline, lastSeenAt);
    this.profiles.drop([id]);
  }

  /** setOnline(id, false, lastSeenAt) for many users in one statement. */
  async setOfflineMany(ids: readonly number[], lastSeenAt: Date): Promise<void> {
    await this.store.setOfflineMany(ids, lastSeenAt);
    this.profiles.drop(ids);
  }

  /**
   * These users' is_online/last_seen_at were written in MySQL by some instance, and the write
   * is visible: the presence module calls this on every instance when its publication arrives.
   */
  presenceStored(ids: readonly number[]): void {
    this.profiles.drop(ids);
  }

  /**
   * A user as `viewerId` sees them (their own profile included): the email only for themself
   * and friends. Unknown, inactive and blocked-either-way users are all the same 404, never a
   * 403 (the contract's rule): a blocked user cannot tell a block from a missing account.
   */
  async view(viewerId: number, userId: number): Promise<UserView> {
    const [user, standing] = await Promise.all([
      this.activeProfile(userId),
      userId === viewerId ? SELF : this.store.standing(viewerId, userId),
    ]);
    if (!user || !standing.visible) throw notFound(`User ${userId} not found`);
    return toUserView(user, { showEmail: userId === viewerId || standing.isFriend });
  }

  /** An active user's row, from the cache when it holds one (see ProfileCache). */
  private async activeProfile(userId: number): Promise<UserViewSource | null> {
    const cached = this.profiles.get(userId);
    if (cached) return cached;
    const generation = this.profiles.generation;
    const user = await this.store.findActiveView(userId);
    if (user) this.profiles.set(userId, user, generation);
    return user;
  }

  /** The users among `userIds` that `viewerId` may see (the rules of `view`), once each, in the order asked: one query. */
  async viewMany(viewerId: number, userIds: readonly number[]): Promise<UserView[]> {
    const ids = [...new Set(userIds)];
    const visible = new Map((await this.store.visibleAmong(viewerId, ids)).map((user) => [user.id, user]));
    return ids.flatMap((id) => {
      const user = visible.get(id);
      return user ? [toUserView(user, { showEmail: user.id === viewerId || user.isFriend })] : [];
    });
  }

  /** The user directory: prefix matches first, then substring matches, with how I stand with each. */
  async search(viewerId: number, text: string, limit: number): Promise<DirectoryEntry[]> {
    const users = await this.store.search(viewerId, text, limit);
    const standings = await this.relationships.friendStandingsAmong(viewerId, users.map((user) => user.id));
    return users.map((user) => toDirectoryEntry(user, standings.get(user.id)));
  }
}
