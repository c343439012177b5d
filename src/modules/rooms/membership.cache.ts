import type { RoomType } from './room.schemas.ts';

/** What stays true for as long as a user is a member of a room. */
export interface Membership {
  roomId: number;
  type: RoomType;
  /** The other member of a direct room. */
  peerId: number | null;
  joinedAt: Date;
}

interface Entry {
  membership: Membership;
  expiresAt: number;
}

/**
 * Recently confirmed memberships, per process, so hot read paths (history, sending, joining a
 * live room) skip a MySQL round trip. Only positive answers are kept. Any change to a room's
 * members forgets the whole room: locally at once, and on other instances when its
 * `room_changed` event arrives; the TTL bounds staleness should an event be lost.
 */
export class MembershipCache {
  private readonly entries = new Map<string, Entry>();
  private readonly usersByRoom = new Map<number, Set<number>>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 200_000,
  ) {}

  get(roomId: number, userId: number, now = Date.now()): Membership | undefined {
    const entry = this.entries.get(key(roomId, userId));
    if (!entry) return undefined;
    if (entry.expiresAt > now) return entry.membership;
    this.forgetOne(roomId, userId);
    return undefined;
  }

  remember(userId: number, membership: Membership, now = Date.now()): void {
    if (this.entries.size >= this.maxEntries) this.clear();
    this.entries.set(key(membership.roomId, userId), { membership, expiresAt: now + this.ttlMs });
    const users = this.usersByRoom.get(membership.roomId) ?? new Set<number>();
    users.add(userId);
    this.usersByRoom.set(membership.roomId, users);
  }

  forgetRoom(roomId: number): void {
    for (const userId of this.usersByRoom.get(roomId) ?? []) this.entries.delete(key(roomId, userId));
    this.usersByRoom.delete(roomId);
  }

  clear(): void {
    this.entries.clear();
    this.usersByRoom.clear();
  }

  private forgetOne(roomId: number, userId: number): void {
    this.entries.delete(key(roomId, userId));
    this.usersByRoom.get(roomId)?.delete(userId);
  }
}

const key = (roomId: number, userId: number) => `${roomId}:${userId}`;
