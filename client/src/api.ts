import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.ts';

export type { components, paths };
/** A schema of the OpenAPI document by name: `Schema<'Message'>`, `Schema<'Room'>`, ... */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

export interface ApiClientOptions {
  baseUrl: string;
  /** The access token; `setToken` replaces it (after a login or refresh). Omit for cookie auth. */
  token?: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface ApiClient extends Client<paths> {
  setToken(token: string | undefined): void;
}

/**
 * Every REST route, typed from the server's OpenAPI document (openapi-fetch):
 *
 *   const api = createApiClient({ baseUrl, token });
 *   const { data, error } = await api.GET('/api/messages/{room_id}', { params: { path: { room_id: 1 } } });
 *
 * `error` is the contract's error body `{error, message, details?}` for 4xx/5xx answers.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  let token = options.token;
  const client = createClient<paths>({ baseUrl: options.baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const auth: Middleware = {
    onRequest({ request }) {
      if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return Object.assign(client, {
    setToken(next: string | undefined) {
      token = next;
    },
  });
}
