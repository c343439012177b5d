import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config.ts';
import authModule from './modules/auth/index.ts';
import blocksModule from './modules/blocks/index.ts';
import chatModule, { type ChatModuleOptions } from './modules/chat/index.ts';
import friendsModule from './modules/friends/index.ts';
import healthModule from './modules/health/index.ts';
import messagesModule from './modules/messages/index.ts';
import presenceModule from './modules/presence/index.ts';
import profileModule from './modules/profile/index.ts';
import roomsModule from './modules/rooms/index.ts';
import { MAX_AVATAR_BYTES } from './modules/profile/profile.schemas.ts';
import usersModule from './modules/users/index.ts';
import abuseLimitsPlugin from './plugins/abuse-limits.ts';
import authPlugin from './plugins/auth.ts';
import configPlugin from './plugins/config.ts';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.ts';
import eventsPlugin from './plugins/events.ts';
import mongodbPlugin from './plugins/mongodb.ts';
import prismaPlugin from './plugins/prisma.ts';
import rateLimitPlugin from './plugins/rate-limit.ts';
import redisPlugin from './plugins/redis.ts';
import swaggerPlugin from './plugins/swagger.ts';

export type App = FastifyInstance;

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
  chat?: ChatModuleOptions;
}

/** Largest WebSocket frame accepted; a bigger one closes the socket with 1009. */
export const MAX_WS_FRAME_BYTES = 64 * 1024;

/** Tokens in `?token=` (EventSource, WebSocket) never reach the logs. */
const redactToken = (url: string) => url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');

function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.LOG_LEVEL,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
  };
}

/** Builds the whole app: external plugins first, then our cross-cutting plugins, then modules. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    // One access line per request (onResponse below) instead of Fastify's two.
    disableRequestLogging: true,
    genReqId: () => randomUUID(),
    // Honour X-Forwarded-For only from proxies on local/private networks, so clients cannot spoof their IP.
    trustProxy: ['loopback', 'linklocal', 'uniquelocal'],
    return503OnClosing: true,
    // Node would refuse an HTTP/1.1 request without Host with an empty 400; the errors plugin
    // refuses it with the contract's body instead.
    http: { requireHostHeader: false },
    // Requests refused by Node's HTTP parser or by the router get the contract's error body too.
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();

  // JSON, forms and multipart only: a text/plain body is refused with 415 rather than parsed.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: redactToken(request.url), statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 },
      'request completed',
    );
  });

  await app.register(configPlugin, { config });
  await app.register(errorsPlugin);

  // External plugins.
  await app.register(fastifyCors, {
    origin: (config.CORS_ORIGINS ?? '*') === '*' ? true : (config.CORS_ORIGINS ?? '*').split(',').map((origin) => origin.trim()),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  await app.register(fastifyMultipart, {
    limits: { fileSize: MAX_AVATAR_BYTES, files: 1, fields: 10, parts: 20, fieldSize: 64 * 1024 },
  });
  const uploadRoot = path.resolve(config.UPLOAD_DIR);
  mkdirSync(uploadRoot, { recursive: true });
  await app.register(fastifyStatic, {
    root: uploadRoot,
    prefix: '/uploads/',
    decorateReply: false,
    index: false,
    setHeaders: (res) => res.setHeader('x-content-type-options', 'nosniff'),
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_WS_FRAME_BYTES } });
  await app.register(swaggerPlugin);

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
  await app.register(messagesModule);
  await app.register(chatModule, options.chat ?? {});
  await app.register(healthModule);

  return app;
}
