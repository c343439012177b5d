import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { responseValidation } from './response-validation.ts';

export type { App };

const uploadDir = mkdtempSync(path.join(tmpdir(), 'bigtech-uploads-'));

/**
 * With MONGODB_URL set, every suite's app stores messages in MongoDB (this run's database, named
 * like the MariaDB one); otherwise in MySQL. The one switch for running all suites on either store.
 */
function messageStoreConfig(): Record<string, string> {
  const mongoUrl = process.env.MONGODB_URL;
  if (!mongoUrl) return {};
  const url = new URL(mongoUrl);
  url.pathname = `/${new URL(inject('databaseUrl')).pathname.slice(1)}`;
  return { MONGODB_URL: url.toString() };
}

/** Config for this test run's database and Redis db; override any variable per test. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...messageStoreConfig(),
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
    JWT_EXPIRES_IN: '1h',
    UPLOAD_DIR: uploadDir,
    BCRYPT_ROUNDS: '4',
    AUTH_RATE_PER_IP: '100000',
    LOGIN_MAX_FAILURES: '1000',
    // Suites make many calls as few users; the tests of each limit set it back (see test/security).
    API_RATE_PER_USER: '1000000',
    API_RATE_PER_IP: '1000000',
    MESSAGE_RATE_PER_USER: '100000',
    MESSAGE_BURST_PER_USER: '100000',
    ROOM_CREATE_PER_HOUR: '100000',
    MAX_SOCKETS_PER_USER: '100000',
    MAX_STREAMS_PER_USER: '100000',
    ...overrides,
  });
}

/**
 * An app ready for `app.inject`; close it in afterAll. Every JSON response it gives is checked
 * against its OpenAPI document (see response-validation.ts).
 */
export async function createTestApp(overrides: Record<string, string> = {}): Promise<App> {
  const app = await buildApp(testConfig(overrides), { logger: false, instrumentation: responseValidation });
  await app.ready();
  return app;
}

/**
 * Two apps on the run's one database and Redis db (as two instances are), built before the
 * enclosing suite's tests and closed after them; `use` receives them.
 */
export function useTwoTestApps(use: (a: App, b: App) => void): void {
  let apps: App[] = [];
  beforeAll(async () => {
    apps = await Promise.all([createTestApp(), createTestApp()]);
    use(apps[0]!, apps[1]!);
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });
}

export interface TestServer {
  app: App;
  baseUrl: string;
  /** The `/metrics` listener's base URL (its own port, as in production); unset with METRICS_ENABLED=false. */
  metricsUrl: string | undefined;
}

/** An app listening on a real port (WebSocket, SSE, multi-instance tests), its metrics on another. */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<TestServer> {
  const app = await createTestApp(overrides);
  const metrics = app.config.METRICS_ENABLED ? await app.metrics.listen(0, '127.0.0.1') : undefined;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return { app, baseUrl: `http://127.0.0.1:${address.port}`, metricsUrl: metrics && `http://127.0.0.1:${metrics.port}` };
}

let counter = 0;
/** A short unique suffix so tests never collide on usernames or emails. */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${randomBytes(3).toString('hex')}${counter}`.slice(0, 50);
}
