import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import pino from 'pino';
import { type Config, trustProxyOption } from './config.ts';
import { compiledSerializerCompiler } from './lib/response-serializer.ts';
import attachmentsModule from './modules/attachments/index.ts';
import authModule from './modules/auth/index.ts';
import blocksModule from './modules/blocks/index.ts';
import chatModule, { type ChatModuleOptions } from './modules/chat/index.ts';
import friendsModule from './modules/friends/index.ts';
import healthModule from './modules/health/index.ts';
import messagesModule from './modules/messages/index.ts';
import notificationsModule from './modules/notifications/index.ts';
import presenceModule from './modules/presence/index.ts';
import profileModule from './modules/profile/index.ts';
import roomsModule from './modules/rooms/index.ts';
import { AVATAR_FOLDER, UPLOADS_URL_PREFIX } from './modules/profile/avatar.storage.ts';
import { MAX_AVATAR_BYTES } from './modules/profile/profile.schemas.ts';
import usersModule from './modules/users/index.ts';
import abuseLimitsPlugin from './plugins/abuse-limits.ts';
import authPlugin from './plugins/auth.ts';
import browserGuardPlugin, { corsOptions, helmetOptions, OriginPolicy, securityHeaders } from './plugins/browser-guard.ts';
import configPlugin from './plugins/config.ts';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.ts';
import eventsPlugin from './plugins/events.ts';
import metricsPlugin from './plugins/metrics.ts';
import mongodbPlugin from './plugins/mongodb.ts';
import prismaPlugin from './plugins/prisma.ts';
import rateLimitPlugin from './plugins/rate-limit.ts';
import redisPlugin from './plugins/redis.ts';
import requestBodiesPlugin from './plugins/request-bodies.ts';
import homePagePlugin from './plugins/home-page.ts';
import swaggerPlugin from './plugins/swagger.ts';
import webAppPlugin from './plugins/web-app.ts';

export type App = FastifyInstance;

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
  chat?: ChatModuleOptions;
  /** Tests only: shorter header and keep-alive timeouts than the contract's 10 s and 72 s. */
  timeouts?: Partial<Pick<ConnectionTimeouts, 'headersMs' | 'keepAliveMs'>>;
  /** Tests only: a plugin registered before all others, so its hooks see every route (test/helpers/response-validation.ts). */
  instrumentation?: FastifyPluginAsync;
}

/** The contract's timeouts (Security): headers within 10 s, idle keep-alive closed after 72 s. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export interface ConnectionTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
  /** How often Node looks for requests over their header or request timeout. */
  checkEveryMs: number;
}

/**
 * Node's server timeouts. `requestTimeout` covers receiving a request (headers and body), not
 * answering it: an SSE stream (hijacked) or a WebSocket (upgraded, the socket leaves the HTTP
 * server) is not cut by it once its request has arrived. No socket inactivity timeout
 * (`connectionTimeout` stays 0) for the same reason: a quiet presence stream or socket is fine.
 */
export function connectionTimeouts(config: Config, overrides: BuildOptions['timeouts'] = {}): ConnectionTimeouts {
  const requestMs = config.REQUEST_TIMEOUT_MS;
  // Node requires headersTimeout <= requestTimeout.
  const headersMs = Math.min(overrides.headersMs ?? HEADERS_TIMEOUT_MS, requestMs);
  // Node checks every 30 s by default, which would let a 1 byte/s body live up to 30 s past its limit.
  const checkEveryMs = Math.max(50, Math.min(1000, Math.floor(headersMs / 4)));
  return { headersMs, requestMs, keepAliveMs: overrides.keepAliveMs ?? KEEP_ALIVE_TIMEOUT_MS, checkEveryMs };
}

/** A client's `X-Request-Id` is kept only when it is a short, plain token; anything else is replaced. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Largest WebSocket frame accepted; a bigger one closes the socket with 1009. */
export const MAX_WS_FRAME_BYTES = 64 * 1024;

/** Tokens in `?token=` (EventSource, WebSocket) never reach the logs. */
const redactToken = (url: string) => (url.includes('token=') ? url.replace(/([?&]token=)[^&]*/g, '$1[redacted]') : url);

/** Log lines are written once this many bytes are waiting, else every LOG_FLUSH_MS. */
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 100;
/** While stdout does not drain (a stalled log reader), lines beyond this are dropped rather than held in memory. */
const LOG_BACKLOG_MAX_BYTES = 64 * 1024 * 1024;

/**
 * stdout written in batches instead of one write per line: pino's synchronous write of every
 * request's access line was 4-6% of a cached history page's CPU. pino flushes the batch at exit
 * (a crash included); a SIGKILL, or V8 aborting out of heap (no 'exit' then), loses the last
 * LOG_FLUSH_MS or LOG_BATCH_BYTES of lines.
 */
const batchedStdout = () =>
  pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS, maxLength: LOG_BACKLOG_MAX_BYTES });

function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.LOG_LEVEL,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    ...(config.LOG_LEVEL === 'silent' ? {} : { stream: batchedStdout() }),
  };
}

/** Builds the whole app: external plugins first, then our cross-cutting plugins, then modules. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const production = config.NODE_ENV === 'production';
  const timeouts = connectionTimeouts(config, options.timeouts);
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // The id comes from genReqId, which keeps a client's X-Request-Id only when it is safe.
    requestIdHeader: false,
    // One access line per request (onResponse below) instead of Fastify's two.
    disableRequestLogging: true,
    genReqId: (req) => requestIdFor(req.headers['x-request-id']),
    // X-Forwarded-For / -Proto / -Host are believed only from the proxies TRUST_PROXY names (default: none).
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    return503OnClosing: true,
    connectionTimeout: 0,
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: timeouts.requestMs,
    http: {
      // Node would refuse an HTTP/1.1 request without Host with an empty 400; the errors plugin
      // refuses it with the contract's body instead.
      requireHostHeader: false,
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: timeouts.checkEveryMs,
    },
    // Requests refused by Node's HTTP parser or by the router get the contract's error body too.
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  // Connections over the cap are closed by Node as they arrive (upgraded sockets count too).
  app.server.maxConnections = config.MAX_CONNECTIONS;

  // JSON, forms and multipart only: a text/plain body is refused with 415 rather than parsed.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(compiledSerializerCompiler);
  // Callback-style hooks: no promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { method: request.method, url: redactToken(request.url), statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 },
      'request completed',
    );
    done();
  });

  if (options.instrumentation) await app.register(options.instrumentation);
  await app.register(configPlugin, { config });
  // First, so its response hook times every request, the errors plugin's refusals too.
  await app.register(metricsPlugin);
  // Security headers first, so every answer carries them (even the errors plugin's own refusals).
  await app.register(securityHeaders, helmetOptions(production));
  await app.register(errorsPlugin);

  // External plugins.
  await app.register(fastifyCors, corsOptions(OriginPolicy.fromConfig(config)));
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  await app.register(fastifyMultipart, {
    limits: { fileSize: MAX_AVATAR_BYTES, files: 1, fields: 10, parts: 20, fieldSize: 64 * 1024 },
  });
  // Only avatars are public files: attachments (UPLOAD_DIR/attachments) are served by their own
  // access-checked routes, so the static root is the avatars folder alone.
  const uploadRoot = path.join(path.resolve(config.UPLOAD_DIR), AVATAR_FOLDER);
  mkdirSync(uploadRoot, { recursive: true });
  await app.register(fastifyStatic, {
    root: uploadRoot,
    prefix: `${UPLOADS_URL_PREFIX}${AVATAR_FOLDER}/`,
    decorateReply: false,
    index: false,
    setHeaders: (res) => {
      res.setHeader('x-content-type-options', 'nosniff');
      // Avatars are shown by the web client, which may live on another site.
      res.setHeader('cross-origin-resource-policy', 'cross-origin');
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_WS_FRAME_BYTES } });
  await app.register(swaggerPlugin);
  // GET /, the page linking the documents (and the rest): always served.
  await app.register(homePagePlugin);
  // /app/, the reference web client (web/dist), when it has been built.
  await app.register(webAppPlugin);

  // Browser safety and request bodies: before any route's own hooks (see the Security section).
  await app.register(browserGuardPlugin);
  await app.register(requestBodiesPlugin);

  // Clients and cross-cutting services, exposed as decorators.
  await app.register(prismaPlugin);
  await app.register(redisPlugin);
  await app.register(mongodbPlugin);
  await app.register(rateLimitPlugin);
  await app.register(eventsPlugin);
  await app.register(authPlugin);
  await app.register(abuseLimitsPlugin);

  // Feature modules.
  await app.register(usersModule);
  await app.register(presenceModule);
  await app.register(authModule);
  await app.register(profileModule);
  await app.register(friendsModule);
  await app.register(blocksModule);
  await app.register(roomsModule);
  await app.register(attachmentsModule);
  await app.register(messagesModule);
  await app.register(notificationsModule);
  await app.register(chatModule, options.chat ?? {});
  await app.register(healthModule);

  return app;
}
