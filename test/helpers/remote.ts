import { randomBytes } from 'node:crypto';

/**
 * The public API over real HTTP (fetch), for servers that are not in the test process: child
 * processes, or several of them behind a proxy. (No import of the app: nothing here needs it.)
 */

let counter = 0;
function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${randomBytes(3).toString('hex')}${counter}`.slice(0, 50);
}

export interface RemoteResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RemoteUser {
  id: number;
  email: string;
  username: string;
  password: string;
  token: string;
}

export async function call<T = any>(
  baseUrl: string,
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RemoteResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

/** Asserts the status, so a failing step names itself. */
export async function expectStatus<T = any>(status: number, what: string, response: Promise<RemoteResponse<T>>): Promise<RemoteResponse<T>> {
  const res = await response;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text}`);
  return res;
}

export async function remoteLogin(baseUrl: string, user: Omit<RemoteUser, 'token'>, headers: Record<string, string> = {}): Promise<RemoteUser> {
  const login = await expectStatus(200, 'login', call(baseUrl, 'POST', '/api/auth/login/json', { body: { email: user.email, password: user.password }, headers }));
  return { ...user, token: login.body.access_token as string };
}

/** Registers and logs in a fresh user. */
export async function createRemoteUser(baseUrl: string, prefix = 'remote'): Promise<RemoteUser> {
  const username = uniqueName(prefix);
  const email = `${username.toLowerCase()}@example.com`;
  const password = 'correct-horse-battery';
  const registered = await expectStatus(201, 'register', call(baseUrl, 'POST', '/api/auth/register', { body: { email, username, password } }));
  return remoteLogin(baseUrl, { id: registered.body.user.id as number, email, username, password });
}

/** a asks, b accepts. */
export async function remoteBefriend(baseUrl: string, a: RemoteUser, b: RemoteUser): Promise<void> {
  await expectStatus(201, 'friend request', call(baseUrl, 'POST', '/api/friends/request', { token: a.token, body: { user_id: b.id } }));
  await expectStatus(200, 'accept', call(baseUrl, 'PUT', `/api/friends/status/${a.id}`, { token: b.token, body: { action: 'accept' } }));
}
