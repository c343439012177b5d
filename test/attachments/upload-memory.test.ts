import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BOUNDARY, type S3Server, startS3rver } from '../helpers/attachments.ts';
import { ServerProcess } from '../helpers/faults.ts';

/**
 * The memory bound, measured on a real server process (its RSS from /proc, sampled while
 * the uploads run): 20 parallel uploads of 20 MB each raise it by less than 100 MB.
 */

const UPLOADS = 20;
const SIZE = 20 * 1024 * 1024;
const MiB = 1024 * 1024;

let server: ServerProcess;
let token: string;
let roomId: number;

async function api(pathname: string, body: object, auth?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${pathname}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A server process with this storage, a user and a room of theirs. */
async function startServer(storageEnv: Record<string, string>): Promise<void> {
  server = await ServerProcess.start({
    NODE_ENV: 'test',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    JWT_SECRET: 'test-secret-0123456789abcdef-0123456789',
    BCRYPT_ROUNDS: '4',
    // Other suites of the run register from 127.0.0.1 too: the per-IP limits are Redis-wide.
    AUTH_RATE_PER_IP: '100000',
    API_RATE_PER_IP: '1000000',
    API_RATE_PER_USER: '1000000',
    ...storageEnv,
  });
  const username = `mem_${Date.now().toString(36)}`;
  const credentials = { email: `${username}@example.com`, password: 'correct-horse-battery' };
  await api('/api/auth/register', { ...credentials, username });
  token = String((await api('/api/auth/login/json', credentials)).access_token);
  roomId = ((await api('/api/group-rooms', { name: 'memory' }, token)).room as { id: number }).id;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** One streamed multipart upload of `size` bytes, made of one reused chunk (the client holds 64 KiB). */
function streamUpload(size: number, seed: number): Promise<number> {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big-${seed}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const chunk = Buffer.alloc(64 * 1024, seed);
  return new Promise((resolve, reject) => {
    const req = request(`${server.baseUrl}/api/messages/${roomId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + size + tail.length },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(head);
    let left = size;
    const pump = () => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

async function measure(storage: string): Promise<void> {
  const pid = server.child.pid!;
  // Warm up: code paths loaded, pools and buffers allocated, as on a server that has been running.
  expect(await streamUpload(2 * MiB, 1)).toBe(201);
  expect(await Promise.all([streamUpload(4 * MiB, 2), streamUpload(4 * MiB, 3)])).toEqual([201, 201]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 20);
  const started = Date.now();
  const statuses = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => streamUpload(SIZE, 10 + i)));
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(pid));
  expect(statuses).toEqual(Array(UPLOADS).fill(201));
  const growth = peak - before;
  console.log(
    `upload memory (${storage}): ${UPLOADS} parallel uploads of 20 MiB (${((UPLOADS * SIZE) / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s): ` +
      `server RSS ${before.toFixed(1)} MiB before, peak ${peak.toFixed(1)} MiB, growth ${growth.toFixed(1)} MiB (bound: 100 MB)`,
  );
  expect(growth).toBeLessThan((100 * 1000 * 1000) / MiB);
}

describe('local directory', () => {
  let uploadDir: string;
  beforeAll(async () => {
    uploadDir = mkdtempSync(path.join(tmpdir(), 'bigtech-memory-'));
    await startServer({ UPLOAD_DIR: uploadDir });
  }, 60_000);
  afterAll(async () => {
    await server?.kill();
    await rm(uploadDir, { recursive: true, force: true });
  });
  it(`${UPLOADS} parallel uploads of 20 MiB raise the server's RSS by less than 100 MB`, () => measure('local directory'), 120_000);
});

describe('S3 (s3rver)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3rver();
    await startServer(s3.config);
  }, 60_000);
  afterAll(async () => {
    await server?.kill();
    await s3?.close();
  });
  it(`${UPLOADS} parallel uploads of 20 MiB raise the server's RSS by less than 100 MB`, () => measure('S3'), 180_000);
});
