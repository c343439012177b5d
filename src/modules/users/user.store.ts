import type { Db } from '../../db/prisma.ts';
import type { UserRecord } from './user.view.ts';

export interface NewUser {
  email: string;
  username: string;
  passwordHash: string;
  displayName: string | null;
}

export interface ProfileChanges {
  displayName?: string | null;
  statusMessage?: string | null;
  profileImageUrl?: string | null;
}

export class UserStore {
  constructor(private readonly db: Db) {}

  findById(id: number): Promise<UserRecord | null> {
    return this.db.user.findUnique({ where: { id } });
  }

  findActiveById(id: number): Promise<UserRecord | null> {
    return this.db.user.findFirst({ where: { id, isActive: true } });
  }

  async activeIds(userIds: readonly number[]): Promise<Set<number>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db.user.findMany({ where: { id: { in: [...userIds] }, isActive: true }, select: { id: true } });
    return new Set(rows.map((row) => row.id));
  }

  /** Login accepts either the email or the username. */
  findByLogin(identifier: string): Promise<UserRecord | null> {
    const field = identifier.includes('@') ? { email: identifier.toLowerCase() } : { username: identifier };
    return this.db.user.findUnique({ where: field as { email: string } | { username: string } });
  }

  findTaken(email: string, username: string): Promise<Pick<UserRecord, 'email' | 'username'> | null> {
    return this.db.user.findFirst({
      where: { OR: [{ email }, { username }] },
      select: { email: true, username: true },
    });
  }

  create(user: NewUser): Promise<UserRecord> {
    return this.db.user.create({ data: user });
  }

  update(id: number, changes: ProfileChanges): Promise<UserRecord> {
    return this.db.user.update({ where: { id }, data: changes });
  }

  setOnline(id: number, isOnline: boolean, lastSeenAt?: Date): Promise<unknown> {
    return this.db.user.updateMany({
      where: { id },
      data: { isOnline, ...(lastSeenAt ? { lastSeenAt } : {}) },
    });
  }
}
