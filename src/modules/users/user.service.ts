import type { NewUser, ProfileChanges, UserStore } from './user.store.ts';
import type { UserRecord } from './user.view.ts';

export type { NewUser, ProfileChanges };

/** Accounts as other modules read and change them: the only way into the users table. */
export class UserService {
  constructor(private readonly store: UserStore) {}

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

  update(id: number, changes: ProfileChanges): Promise<UserRecord> {
    return this.store.update(id, changes);
  }

  /** MySQL's copy of the online flag (Redis holds the live one). */
  setOnline(id: number, isOnline: boolean, lastSeenAt?: Date): Promise<unknown> {
    return this.store.setOnline(id, isOnline, lastSeenAt);
  }
}
