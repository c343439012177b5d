import type { FastifyBaseLogger } from 'fastify';
import { notFound } from '../../lib/errors.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { RelationshipService } from './relationship.service.ts';
import type { DirectoryEntry, UserView } from './user.schemas.ts';
import type { NewUser, ProfileChanges, UserStore } from './user.store.ts';
import { toDirectoryEntry, toUserView, type UserRecord } from './user.view.ts';

export type { NewUser, ProfileChanges };

/** Accounts as other modules read and change them: the only way into the users table. */
export class UserService {
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

  /** Changes profile fields; every instance hears of it (`user_changed`: cached friend lists drop them). */
  async update(id: number, changes: ProfileChanges): Promise<UserRecord> {
    const user = await this.store.update(id, changes);
    await this.events.publishAfterCommit({ type: 'user_changed', user_id: id }, this.log);
    return user;
  }

  /** MySQL's copy of the online flag (Redis holds the live one). */
  setOnline(id: number, isOnline: boolean, lastSeenAt?: Date): Promise<unknown> {
    return this.store.setOnline(id, isOnline, lastSeenAt);
  }

  /** setOnline(id, false, lastSeenAt) for many users in one statement. */
  setOfflineMany(ids: readonly number[], lastSeenAt: Date): Promise<unknown> {
    return this.store.setOfflineMany(ids, lastSeenAt);
  }

  /**
   * A user as `viewerId` sees them (their own profile included): the email only for themself
   * and friends. Unknown, inactive and blocked-either-way users are all the same 404, never a
   * 403 (the contract's rule): a blocked user cannot tell a block from a missing account.
   */
  async view(viewerId: number, userId: number): Promise<UserView> {
    const [user] = await this.viewMany(viewerId, [userId]);
    if (!user) throw notFound(`User ${userId} not found`);
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
