import type { DomainEvent } from '../../src/lib/domain-events.ts';
import { pairOf } from '../../src/lib/user-pair.ts';
import type { App } from './app.ts';
import { createUser, type TestUser } from './users.ts';

/** POST /api/friends/request from `from` to `toId`. */
export function sendRequest(app: App, from: TestUser, toId: number) {
  return app.inject({ method: 'POST', url: '/api/friends/request', headers: from.auth, payload: { user_id: toId } });
}

/** PUT /api/friends/status/:requester: `by` answers the request `requesterId` sent them. */
export function answerRequest(app: App, by: TestUser, requesterId: number, action: 'accept' | 'reject') {
  return app.inject({ method: 'PUT', url: `/api/friends/status/${requesterId}`, headers: by.auth, payload: { action } });
}

/** Makes two users friends through the API (a requests, b accepts). */
export async function befriend(app: App, a: TestUser, b: TestUser): Promise<void> {
  const sent = await sendRequest(app, a, b.id);
  if (sent.statusCode !== 201) throw new Error(`friend request failed: ${sent.statusCode} ${sent.body}`);
  const accepted = await answerRequest(app, b, a.id, 'accept');
  if (accepted.statusCode !== 200) throw new Error(`accept failed: ${accepted.statusCode} ${accepted.body}`);
}

/**
 * Makes `userId` an accepted friend of each of `otherIds`, straight in the database (no
 * events): set-up for tests whose subject is not friendship, e.g. adding members to a group,
 * which only the members' friends may do. An existing row of the pair becomes accepted.
 */
export async function makeFriends(app: App, userId: number, otherIds: readonly number[]): Promise<void> {
  for (const otherId of new Set(otherIds)) {
    if (otherId === userId) continue;
    const pair = pairOf(userId, otherId);
    await app.db.friendship.upsert({
      where: { pair },
      create: { requesterId: userId, addresseeId: otherId, ...pair, status: 'accepted' },
      update: { status: 'accepted' },
    });
  }
}

export function blockUser(app: App, blocker: TestUser, blockedId: number) {
  return app.inject({ method: 'POST', url: '/api/blocks', headers: blocker.auth, payload: { user_id: blockedId } });
}

/** Every friendship row of the pair (the schema allows at most one). */
export function pairRows(app: App, a: number, b: number) {
  return app.db.friendship.findMany({ where: pairOf(a, b) });
}

/** Takes a user offline in Redis and MySQL, last seen `agoMs` before now (null: never seen). */
export async function setOffline(app: App, userId: number, agoMs: number | null, now = Date.now()): Promise<void> {
  await app.redis.multi().del(`user:online:${userId}`).srem('online_users', String(userId)).exec();
  await app.db.user.update({
    where: { id: userId },
    data: { isOnline: false, lastSeenAt: agoMs === null ? null : new Date(now - agoMs) },
  });
}

/** Collects the domain events this app receives (from every instance) until `stop` is called. */
export async function recordEvents(app: App): Promise<{ events: DomainEvent[]; stop: () => void }> {
  const events: DomainEvent[] = [];
  const stop = await app.events.subscribe((event) => events.push(event));
  return { events, stop };
}

/** Domain events that concern one of the given users. */
export function eventsAbout(events: DomainEvent[], userIds: number[]): DomainEvent[] {
  return events.filter((event) => {
    if (event.type === 'friendship_changed') return event.user_ids.some((id) => userIds.includes(id));
    if (event.type === 'block_changed') return userIds.includes(event.blocker_id) || userIds.includes(event.blocked_id);
    return false;
  });
}

type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [T, ...R]>;

/** `count` fresh, logged-in users, typed as a tuple so they can be destructured. */
export function createUsers<N extends number>(
  app: App,
  count: N,
  options: { displayName?: string; prefix?: string } = {},
): Promise<Tuple<TestUser, N>> {
  return Promise.all(Array.from({ length: count }, () => createUser(app, options))) as Promise<Tuple<TestUser, N>>;
}
