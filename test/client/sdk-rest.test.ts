import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatSocket, createApiClient } from '../../client/src/index.ts';
import { SDK_TYPES_FILE, sdkTypes } from '../../scripts/sdk-types.ts';
import { type App, startTestServer, uniqueName } from '../helpers/app.ts';

/** The SDK's REST half: types generated from the live document, calls through openapi-fetch. */
let server: { app: App; baseUrl: string };
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.app.close());

describe('createApiClient', () => {
  it('has types that match the live OpenAPI document (run `npm run sdk:generate` after changing routes)', async () => {
    const expected = await sdkTypes(server.app.swagger());
    expect(readFileSync(SDK_TYPES_FILE, 'utf8') === expected, 'client/src/schema.ts is out of date: npm run sdk:generate').toBe(true);
  });

  it('registers, logs in, creates a room and reads history, with the contract error body on failures', async () => {
    const api = createApiClient({ baseUrl: server.baseUrl });
    const username = uniqueName('sdk');
    const credentials = { email: `${username}@example.com`, username, password: 'analytical-engine-1843' };
    const registered = await api.POST('/api/auth/register', { body: credentials });
    expect(registered.response.status).toBe(201);
    const again = await api.POST('/api/auth/register', { body: credentials });
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ error: 'conflict', message: expect.any(String) });

    const login = await api.POST('/api/auth/login/json', { body: { email: credentials.email, password: credentials.password } });
    expect(login.data?.access_token).toEqual(expect.any(String));
    api.setToken(login.data!.access_token);
    const me = await api.GET('/api/auth/me');
    expect(me.data).toMatchObject({ user: { username } });

    const room = await api.POST('/api/group-rooms', { body: { name: 'SDK room' } });
    expect(room.response.status).toBe(201);
    const roomId = room.data!.room.id;
    const sent = await api.POST('/api/messages/{room_id}', { params: { path: { room_id: roomId } }, body: { content: 'typed 안녕' } });
    expect(sent.data?.message).toMatchObject({ content: 'typed 안녕', seq: 1 });
    const history = await api.GET('/api/messages/{room_id}', { params: { path: { room_id: roomId }, query: { limit: 10 } } });
    expect(history.data?.messages.map((m) => m.content)).toEqual(['typed 안녕']);
  });
});

describe('the README example', () => {
  it('logs in, sends and receives a message in ten lines', async () => {
    const username = uniqueName('sdk');
    const email = `${username}@example.com`;
    const password = 'analytical-engine-1843';
    await createApiClient({ baseUrl: server.baseUrl }).POST('/api/auth/register', { body: { email, username, password } });

    // --- client/README.md, "Ten lines" ---
    const api = createApiClient({ baseUrl: server.baseUrl });
    const { data: login } = await api.POST('/api/auth/login/json', { body: { email, password } });
    api.setToken(login!.access_token);
    const { data: created } = await api.POST('/api/group-rooms', { body: { name: 'Hello' } });
    const chat = new ChatSocket({ baseUrl: server.baseUrl, token: login!.access_token, WebSocket });
    const received = new Promise<string | null>((resolve) => chat.on('message', (frame) => resolve(frame.message.content)));
    await chat.connect();
    chat.join(created!.room.id);
    await new Promise((resolve) => chat.on('joined', resolve));
    await chat.send(created!.room.id, 'Hello, world');
    // --- end of the example ---
    expect(await received).toBe('Hello, world');
    chat.close();
  });
});
