import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { notFound } from '../lib/errors.ts';

export const WEB_APP_PREFIX = '/app/';
/** The Vite build of web/ (`npm run web:build`; `npm start` builds it when missing or stale). */
export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

export interface WebAppOptions {
  /** Where the build is (tests point it at a folder of their own); default web/dist. */
  distDir?: string;
}

const NOT_BUILT = `<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>BigTech Chat</title></head>
<body><p>웹 클라이언트가 아직 빌드되지 않았습니다. <code>npm run web:build</code> 후 다시 열어 주세요.</p>
<p lang="en">The web client is not built yet: run <code>npm run web:build</code> (or <code>npm start</code>, which builds it), then reload.</p></body></html>
`;

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Vite's output: `assets/<name>-<content hash>.<ext>`, so a file's name changes with its bytes. */
function isHashedAsset(filePath: string): boolean {
  return filePath.includes(`${path.sep}assets${path.sep}`);
}

/**
 * The reference web client at /app/, from the same origin as the API (the cookie works and the
 * browser-guard rules for other origins stay in force).
 *
 * - Hashed assets are cached for good; index.html is revalidated on every load (`no-cache`), so
 *   a new build reaches browsers at once. @fastify/send would set its own `public, max-age=0`
 *   unless `cacheControl: false`; `setHeaders` then sets ours.
 * - `.br` / `.gz` files written next to the assets by scripts/build-web.mjs are served to
 *   browsers that accept them (`Vary: Accept-Encoding`).
 * - Any other /app/* path gets index.html (the client's own paths survive a reload), except under
 *   /app/assets/, where a missing file is a 404 rather than HTML a browser would run as script.
 * - Without a build, /app/ answers 503 with a page saying how to build it.
 *
 * Files are looked up per request (`wildcard: true`), so a rebuild while the server runs is served.
 */
async function webAppPlugin(app: FastifyInstance, options: WebAppOptions): Promise<void> {
  const dist = options.distDir ?? WEB_DIST;
  const indexFile = path.join(dist, 'index.html');

  app.get('/app', { schema: { hide: true } }, async (_request, reply) => reply.redirect(WEB_APP_PREFIX, 301));

  async function fallback(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const url = request.url.split('?')[0] ?? '';
    if ((request.method !== 'GET' && request.method !== 'HEAD') || url.startsWith(`${WEB_APP_PREFIX}assets/`)) {
      throw notFound(`Route ${request.method}:${url} not found`);
    }
    const html = await readFile(indexFile).catch(() => undefined);
    if (!html) return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT);
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  }

  await app.register(
    async (scope) => {
      scope.setNotFoundHandler(fallback);
      scope.addHook('onSend', async (_request, reply, payload) => {
        if (reply.getHeader('content-encoding')) {
          const vary = reply.getHeader('vary');
          reply.header('vary', vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding');
        }
        return payload;
      });
      // Without the folder there is nothing to serve (and @fastify/static would log a warning).
      if (!existsSync(dist)) return;
      await scope.register(fastifyStatic, {
        root: dist,
        prefix: '/',
        decorateReply: false,
        wildcard: true,
        index: ['index.html'],
        dotfiles: 'ignore',
        preCompressed: true,
        cacheControl: false,
        setHeaders: (res, filePath) => res.setHeader('cache-control', isHashedAsset(filePath) ? IMMUTABLE : 'no-cache'),
      });
    },
    { prefix: WEB_APP_PREFIX.slice(0, -1) },
  );
}

export default fp(webAppPlugin, { name: 'web-app' });
