import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startTestServer } from '../helpers/app.ts';
import { createUser, type TestUser } from '../helpers/users.ts';
import { type Frame, WsClient } from '../helpers/ws.ts';
import { befriend, block, eventually, login, logout, sleep, unfriend } from '../presence/support.ts';

/**
 * Presence on the chat socket (`presence_subscribe`), with every rule of the SSE presence stream,
 * over two instances on real ports: changes made on the other instance arrive within a second,
 * friendships and blocks changing while connected are followed.
 */
let a: { app: App; baseUrl: string };
let b: { app: App; baseUrl: string };
const clients: WsClient[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([a?.app.close(), b?.app.close()]);
});

async function subscribed(user: TestUser): Promise<{ client: WsClient; snapshot: Frame }> {
  const client = await WsClient.connect(a.baseUrl, user.token);
  clients.push(client);
  client.send({ type: 'presence_subscribe' });
  return { client, snapshot: await client.ofType('presence_snapshot') };
}

const presenceOf = (client: WsClient, userId: number) => client.frames.filter((f) => f.type === 'presence' && f.user_id === userId);

async function offlineUser(app: App): Promise<TestUser> {
  const user = await createUser(app);
  await logout(app, user.token);
  return user;
}

describe('presence on the chat socket', () => {
  it('sends a snapshot of my friends, then their changes from the other instance within a second', async () => {
    const viewer = await createUser(a.app);
    const online = await createUser(b.app);
    const offline = await offlineUser(b.app);
    const stranger = await createUser(b.app);
    await befriend(a.app, viewer.id, online.id);
    await befriend(a.app, viewer.id, offline.id);

    const { client, snapshot } = await subscribed(viewer);
    expect(snapshot).toEqual({
      type: 'presence_snapshot',
      friends: expect.arrayContaining([
        { user_id: online.id, is_online: true },
        { user_id: offline.id, is_online: false },
      ]),
    });
    expect((snapshot.friends as unknown[]).length).toBe(2);

    const startedAt = Date.now();
    const token = await login(b.app, offline);
    expect(await client.next((f) => f.type === 'presence' && f.user_id === offline.id, 1000)).toEqual({
      type: 'presence',
      user_id: offline.id,
      is_online: true,
    });
    expect(Date.now() - startedAt).toBeLessThan(1000);
    await logout(b.app, token);
    expect(await client.next((f) => f.type === 'presence' && f.user_id === offline.id && f.is_online === false, 1000)).toBeDefined();

    // Strangers are never shown.
    await logout(b.app, stranger.token);
    await sleep(300);
    expect(presenceOf(client, stranger.id)).toEqual([]);
  });

  it('follows friendships and blocks while connected, and stops after presence_unsubscribe', async () => {
    const viewer = await createUser(a.app);
    const friend = await offlineUser(b.app);
    const { client, snapshot } = await subscribed(viewer);
    expect(snapshot.friends).toEqual([]);

    await befriend(b.app, viewer.id, friend.id, { publish: true });
    expect(await client.next((f) => f.type === 'presence' && f.user_id === friend.id, 1000)).toMatchObject({ is_online: false });
    let token = await login(b.app, friend);
    await client.next((f) => f.type === 'presence' && f.user_id === friend.id && f.is_online === true, 1000);

    await unfriend(b.app, viewer.id, friend.id, { publish: true });
    await eventually(() => expect(a.app.presenceHub.watcherCount(friend.id)).toBe(0), 2000);
    await logout(b.app, token);
    await sleep(300);
    expect(presenceOf(client, friend.id)).toEqual([]);

    await befriend(b.app, viewer.id, friend.id, { publish: true });
    await client.next((f) => f.type === 'presence' && f.user_id === friend.id, 1000);
    await block(b.app, friend.id, viewer.id);
    await eventually(() => expect(a.app.presenceHub.watcherCount(friend.id)).toBe(0), 2000);
    token = await login(b.app, friend);
    await sleep(300);
    expect(presenceOf(client, friend.id)).toEqual([]);
    await logout(b.app, token);
  });

  it('presence_unsubscribe stops the changes, a new subscribe sends a fresh snapshot, closing frees the watchers', async () => {
    const viewer = await createUser(a.app);
    const friend = await offlineUser(b.app);
    await befriend(a.app, viewer.id, friend.id);
    const { client } = await subscribed(viewer);
    expect(a.app.presenceHub.watcherCount(friend.id)).toBe(1);

    client.send({ type: 'presence_unsubscribe' });
    await eventually(() => expect(a.app.presenceHub.watcherCount(friend.id)).toBe(0), 1000);
    const token = await login(b.app, friend);
    await sleep(300);
    expect(presenceOf(client, friend.id)).toEqual([]);

    client.send({ type: 'presence_subscribe' });
    client.send({ type: 'presence_subscribe' });
    expect(await client.ofType('presence_snapshot')).toMatchObject({ friends: [{ user_id: friend.id, is_online: true }] });
    await client.ofType('presence_snapshot');
    // Two subscribes in a row leave one subscription.
    await eventually(() => expect(a.app.presenceHub.watcherCount(friend.id)).toBe(1), 1000);

    client.close();
    await client.closed;
    await eventually(() => expect(a.app.presenceHub.watcherCount(friend.id)).toBe(0), 1000);
    await logout(b.app, token);
  });
});
