import { inject } from 'vitest';
import { type App, startTestServer } from './app.ts';
import { freePort, ServerProcess, TcpProxy } from './faults.ts';

export interface InstancePair {
  /** A's MySQL connections go through this proxy: the test slows or cuts them. */
  dbProxy: TcpProxy;
  /** Instance A: the real server as a child process (a crash there ends it, as in production). */
  child: ServerProcess;
  /** Instance B: in the test process, on the database directly. */
  local: { app: App; baseUrl: string };
}

/** A TCP proxy in front of the run's MariaDB, and the DATABASE_URL that goes through it. */
export async function proxiedDatabase(): Promise<{ proxy: TcpProxy; databaseUrl: string }> {
  const url = new URL(inject('databaseUrl'));
  const proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 3306) });
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, databaseUrl: url.toString() };
}

/** Two instances on the run's MariaDB database and Redis db, with one JWT secret (a token is valid on both). */
export async function startChildBehindDbProxy(): Promise<InstancePair> {
  const { proxy: dbProxy, databaseUrl } = await proxiedDatabase();
  const [child, local] = await Promise.all([
    ServerProcess.start({
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      REDIS_URL: inject('redisUrl'),
      JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_PER_IP: '100000',
    }),
    startTestServer(),
  ]);
  return { dbProxy, child, local };
}

/**
 * A server process on the run's database and Redis that can be killed and started again on the
 * same port (clients that reconnect by URL find it again).
 */
export async function restartableServer(): Promise<{ port: number; start: () => Promise<ServerProcess> }> {
  const port = await freePort();
  const start = () =>
    ServerProcess.start({
      NODE_ENV: 'test',
      PORT: String(port),
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_PER_IP: '100000',
      API_RATE_PER_USER: '100000',
      MAX_STREAMS_PER_USER: '100',
    });
  return { port, start };
}
