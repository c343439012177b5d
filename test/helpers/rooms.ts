import { expect } from 'vitest';
import type { DomainEvent } from '../../src/lib/domain-events.ts';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import type { RoomView } from '../../src/modules/rooms/room.schemas.ts';
import type { App } from './app.ts';
import { makeFriends } from './social.ts';
import { createUser, type TestUser } from './users.ts';

/** `count` fresh, logged-in users. */
export function makeUsers(app: App, count: number, prefix = 'room'): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => createUser(app, { prefix })));
}

/** Records a block straight in the database (the blocks API is another module's concern). */
export async function block(app: App, blocker: TestUser, blocked: TestUser): Promise<void> {
  await app.db.blockUser.create({ data: { blockerId: blocker.id, blockedId: blocked.id } });
}

export async function openDirect(app: App, user: TestUser, peer: TestUser): Promise<RoomView> {
  const res = await app.inject({ method: 'POST', url: '/api/chat-rooms', headers: user.auth, payload: { user_id: peer.id } });
  expect([200, 201], res.body).toContain(res.statusCode);
  return res.json().room;
}

/**
 * POST /api/group-rooms as `owner`, expecting 201. Only friends can be added to a group, so the
 * owner is made friends with every one of `member_ids` first (see makeFriends); a test of the
 * friends-only rule itself calls the API directly.
 */
export async function createGroup(
  app: App,
  owner: TestUser,
  body: { name?: string; description?: string; is_private?: boolean; max_members?: number; member_ids?: number[] } = {},
): Promise<RoomView> {
  await makeFriends(app, owner.id, body.member_ids ?? []);
  const res = await app.inject({
    method: 'POST',
    url: '/api/group-rooms',
    headers: owner.auth,
    payload: { name: 'Study group', ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().room;
}

/** POST /api/group-rooms/:room_id/members as `actor`, expecting 201; makes the two friends first. */
export async function addMember(app: App, actor: TestUser, roomId: number, user: TestUser, role?: 'admin' | 'member'): Promise<RoomView> {
  await makeFriends(app, actor.id, [user.id]);
  const res = await app.inject({
    method: 'POST',
    url: `/api/group-rooms/${roomId}/members`,
    headers: actor.auth,
    payload: { user_id: user.id, ...(role ? { role } : {}) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().room;
}

export async function send(
  app: App,
  user: TestUser,
  roomId: number,
  body: Record<string, unknown> | string = 'hello',
): Promise<MessageView> {
  const payload = typeof body === 'string' ? { content: body } : body;
  const res = await app.inject({ method: 'POST', url: `/api/messages/${roomId}`, headers: user.auth, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().message;
}

/** Collects this app's domain events until `stop`. */
export async function recordDomainEvents(app: App): Promise<{ events: DomainEvent[]; stop: () => void }> {
  const events: DomainEvent[] = [];
  const stop = await app.events.subscribe((event) => events.push(event));
  return { events, stop };
}

/** Waits until `predicate` holds (events travel through Redis). */
export async function eventually(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
