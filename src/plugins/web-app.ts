import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const WEB_APP_PREFIX = '/app/';
/** The Vite build of web/ (`npm run web:build`; `npm start` builds it when missing or stale). */
export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

const NOT_BUILT = `<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>BigTech Chat</title></head>
<body><p>웹 클라이언트가 아직 빌드되지 않았습니다. <code>npm run web:build</code> 후 다시 열어 주세요.</p></body></html>
`;

/**
 * The reference web client at /app/, from the same origin as the API (the cookie works and the
 * browser-guard rules for other origins stay in force). Hashed assets are cached for good;
 * index.html never is, and any other /app/* path gets it (the client routes itself).
 */
async function webAppPlugin(app: FastifyInstance): Promise<void> {
  app.get('/app', { schema: { hide: true } }, async (_request, reply) => reply.redirect(WEB_APP_PREFIX, 301));
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) {
    app.get('/app/*', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: WEB_DIST,
    prefix: WEB_APP_PREFIX,
    decorateReply: false,
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders: (res, filePath) => {
      const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
      res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

export default fp(webAppPlugin, { name: 'web-app' });
