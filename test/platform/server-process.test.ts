import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import mariadb from 'mariadb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';

/** The real entry point: `tsx src/server.ts`, as `npm start` runs it. */

const { connection } = parseMysqlUrl(inject('databaseUrl'));
const database = `bigtech_server_${randomBytes(4).toString('hex')}`;
let child: ChildProcess | undefined;

afterAll(async () => {
  child?.kill('SIGKILL');
  const conn = await mariadb.createConnection(connection);
  await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await conn.end();
});

function startServer(env: Record<string, string>): Promise<{ process: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ process: proc, port: Number(match[1]) });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

function exitCode(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

describe('server process', () => {
  it('stops at once with one line naming a bad variable', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: 'mysql://root@127.0.0.1:3306/x', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'short' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitCode(proc)).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining('JWT_SECRET')]);
  });

  it('creates the database, migrates, serves, and on SIGTERM finishes in-flight requests before exiting', async () => {
    const started = await startServer({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      DATABASE_URL: `mysql://${connection.user}@${connection.host}:${connection.port}/${database}`,
      REDIS_URL: inject('redisUrl'),
      JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_PER_IP: '100000',
    });
    child = started.process;
    const health = await fetch(`http://127.0.0.1:${started.port}/api/health`);
    expect(health.status).toBe(200);

    // Start a request, send half its body, then ask the server to stop.
    const username = `sigterm_${randomBytes(3).toString('hex')}`;
    const body = JSON.stringify({ email: `${username}@example.com`, username, password: 'long-enough-pw' });
    const response = new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: started.port, path: '/api/auth/register', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child?.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 100);
    });
    const exited = exitCode(started.process);
    expect(await response).toBe(201);
    expect(await exited).toBe(0);
  });
});
