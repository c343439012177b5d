import { inject } from 'vitest';
import { type App, startTestServer } from './app.ts';
import { ServerProcess, TcpProxy } from './faults.ts';

export interface InstancePair {
  /** A's MySQL connections go through this proxy: the test slows or cuts them. */
  dbProxy: TcpProxy;
  /** Instance A: the real server as a child process (a crash there ends it, as in production). */
  child: ServerProcess;
  /** Instance B: in the test process, on the database directly. */
  local: { app: App; baseUrl: string };
}

/** Two instances on the run's MariaDB database and Redis db, with one JWT secret (a token is valid on both). */
export async function startChildBehindDbProxy(): Promise<InstancePair> {
  const databaseUrl = new URL(inject('databaseUrl'));
  const dbProxy = await TcpProxy.start({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 3306) });
  databaseUrl.hostname = '127.0.0.1';
  databaseUrl.port = String(dbProxy.port);
  const [child, local] = await Promise.all([
    ServerProcess.start({
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: inject('redisUrl'),
      JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_PER_IP: '100000',
    }),
    startTestServer(),
  ]);
  return { dbProxy, child, local };
}
