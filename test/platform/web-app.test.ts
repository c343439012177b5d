import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webAppPlugin from '../../src/plugins/web-app.ts';
import { type App, createTestApp } from '../helpers/app.ts';

/**
 * /app/ serves whatever build it finds, or a 503 page without one. These tests bring their own
 * tiny "build" in a temporary folder: the server's tests never depend on the real web build.
 */

const INDEX = '<!doctype html><html lang="ko"><head><script type="module" src="/app/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = 'console.log("안녕하세요");\n'.repeat(50);

let built: string;
let empty: string;
let withBuild: FastifyInstance;
let withoutBuild: FastifyInstance;

async function serving(distDir: string): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(webAppPlugin, { distDir });
  await app.ready();
  return app;
}

beforeAll(async () => {
  built = mkdtempSync(path.join(tmpdir(), 'bigtech-web-dist-'));
  mkdirSync(path.join(built, 'assets'));
  writeFileSync(path.join(built, 'index.html'), INDEX);
  writeFileSync(path.join(built, 'assets', 'index-abc123.js'), SCRIPT);
  writeFileSync(path.join(built, 'assets', 'index-abc123.js.br'), brotliCompressSync(SCRIPT));
  empty = mkdtempSync(path.join(tmpdir(), 'bigtech-web-empty-'));
  [withBuild, withoutBuild] = await Promise.all([serving(built), serving(path.join(empty, 'dist'))]);
});

afterAll(async () => {
  await Promise.all([withBuild?.close(), withoutBuild?.close()]);
  rmSync(built, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('web client at /app/', () => {
  it('redirects /app to /app/', async () => {
    const res = await withBuild.inject('/app');
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('/app/');
  });

  it('serves index.html revalidated on every load (no-cache)', async () => {
    for (const url of ['/app/', '/app/index.html']) {
      const res = await withBuild.inject(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toBe(INDEX);
    }
  });

  it('answers a repeated load of index.html with 304 (ETag), still no-cache', async () => {
    const first = await withBuild.inject('/app/');
    const again = await withBuild.inject({ url: '/app/', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.headers['cache-control']).toBe('no-cache');
  });

  it('caches hashed assets for good (immutable), compressed when the browser accepts it', async () => {
    const plain = await withBuild.inject('/app/assets/index-abc123.js');
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toMatch(/javascript/);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.body).toBe(SCRIPT);

    const br = await withBuild.inject({ url: '/app/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);
    expect(br.rawPayload.length).toBeLessThan(SCRIPT.length / 5);
  });

  it("gives the client's own paths index.html, but never HTML for a missing asset", async () => {
    const route = await withBuild.inject('/app/rooms/42?x=1');
    expect(route.statusCode).toBe(200);
    expect(route.headers['cache-control']).toBe('no-cache');
    expect(route.body).toBe(INDEX);

    const missing = await withBuild.inject('/app/assets/index-gone99.js');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).not.toMatch(/html/);

    const post = await withBuild.inject({ method: 'POST', url: '/app/rooms' });
    expect(post.statusCode).toBe(404);
  });

  it('answers 503 with a page saying how to build it when there is no build', async () => {
    for (const url of ['/app/', '/app/rooms/1']) {
      const res = await withoutBuild.inject(url);
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toContain('npm run web:build');
    }
  });
});

describe('web client under the app: security headers', () => {
  let app: App;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves /app/ (built or not) under a CSP the client runs in: same-origin scripts and connections, blob: previews', async () => {
    const res = await app.inject('/app/');
    expect([200, 503]).toContain(res.statusCode);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toMatch(/img-src 'self' data: blob:/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('links the web client from the home page', async () => {
    const res = await app.inject('/');
    expect(res.body).toContain('href="/app/"');
  });
});
