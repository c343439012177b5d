import type { App } from './app.ts';
import { uniqueName } from './app.ts';

export interface TestUser {
  id: number;
  email: string;
  username: string;
  password: string;
  token: string;
  auth: { authorization: string };
}

/** Registers and logs in a fresh user through the public API. */
export async function createUser(app: App, options: { displayName?: string; prefix?: string } = {}): Promise<TestUser> {
  const username = uniqueName(options.prefix ?? 'user');
  const email = `${username.toLowerCase()}@example.com`;
  const password = 'correct-horse-battery';
  const registered = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email, username, password, ...(options.displayName ? { display_name: options.displayName } : {}) },
  });
  if (registered.statusCode !== 201) throw new Error(`register failed: ${registered.statusCode} ${registered.body}`);
  return loginUser(app, { id: registered.json().user.id, email, username, password });
}

export async function loginUser(
  app: App,
  user: Pick<TestUser, 'id' | 'email' | 'username' | 'password'>,
): Promise<TestUser> {
  const login = await app.inject({ method: 'POST', url: '/api/auth/login/json', payload: { email: user.email, password: user.password } });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
  const token: string = login.json().access_token;
  return { ...user, token, auth: { authorization: `Bearer ${token}` } };
}
