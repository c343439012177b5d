import { STATUS_CODES } from 'node:http';
import fastifySwagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, HTTPMethods } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { ZodType } from 'zod';
import { errorResponses, type ErrorStatus } from '../lib/http-schemas.ts';
import { isUnlimitedUrl } from './abuse-limits.ts';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * A request body the document shows but Fastify does not validate. For multipart uploads:
     * the handler streams the file itself (`request.file()`), so there is no parsed body to
     * validate, and a `body` schema would refuse every upload with 400.
     */
    documentedBody?: ZodType;
  }
}

const DESCRIPTION = `REST API of BigTech Chat, generated from the same zod schemas that validate every request and response.

**Try it here.** Run \`POST /api/auth/register\` with its example, click **Authorize**, type that username (or email) and password: Swagger UI logs in through \`POST /api/auth/login\` and sends the token on every call (try \`GET /api/auth/me\`).

**Conventions.** JSON in and out with \`snake_case\` fields. User, room and friendship ids are positive integers; message ids are opaque strings. Timestamps are ISO-8601 UTC strings. A single resource comes wrapped by its name (\`{"user": {...}}\`); lists are plain arrays unless said otherwise.

**Authentication.** A JWT from login, sent as \`Authorization: Bearer <token>\`, as the \`token\` query parameter (EventSource and WebSocket cannot set headers) or by the \`jwt_token\` cookie that login sets. A cookie-only POST, PUT, PATCH or DELETE from a page of another site is refused with 403.

**Errors** all have the \`Error\` body \`{"error", "message", "details"?}\` with a stable \`error\` code. Every route may also answer 500 \`internal_error\`.

**Real time.** The WebSocket protocol (\`/ws/chat\`) and the event streams are described by the AsyncAPI document at \`/docs/asyncapi.json\`.`;

const STATE_CHANGING: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The errors every route of its kind can answer, whatever it does: a malformed URL, JSON body or
 * input (400), a body type or `Content-Encoding` it does not take (415), a backing service out
 * of reach or the server shutting down (503); with a token, a bad one (401); for POST, PUT,
 * PATCH and DELETE, the cookie guard (403) and the body size limit (413); but for health
 * checks, the API call limit (429). A route lists only its own errors besides (or overrides these).
 */
function commonErrors(schema: FastifySchema, method: string, url: string): ErrorStatus[] {
  const statuses: ErrorStatus[] = [400, 415, 503];
  if ((schema.security?.length ?? 0) > 0) statuses.push(401);
  if (STATE_CHANGING.has(method)) statuses.push(403, 413);
  if (!isUnlimitedUrl(url)) statuses.push(429);
  return statuses;
}

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** `POST /api/group-rooms/:room_id/members` → `postGroupRoomsByRoomIdMembers`. */
function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((segment) => segment !== '' && segment !== 'api')
    .map((segment) => (segment.startsWith(':') ? `by_${segment.slice(1)}` : segment))
    .flatMap((segment) => segment.split(/[-_]/))
    .map(capitalized);
  return method.toLowerCase() + words.join('');
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/**
 * zod-to-JSON-schema conversion of each route (fastify-type-provider-zod) after adding what
 * every route shares: the common error responses, an operationId, and the documented body.
 */
const transform: SwaggerTransform = (input) => {
  const { schema, route, url } = input;
  if (!schema || schema.hide === true) return jsonSchemaTransform(input);
  const method: HTTPMethods = [route.method].flat()[0] ?? 'GET';
  const { documentedBody, ...rest } = schema;
  return jsonSchemaTransform({
    ...input,
    schema: {
      ...rest,
      ...(documentedBody ? { body: documentedBody } : {}),
      operationId: rest.operationId ?? operationIdOf(method, url),
      // No security scheme named: the route is public, said explicitly (a missing one means "the default").
      security: rest.security ?? [],
      response: { ...errorResponses(...commonErrors(schema, method, url)), ...asRecord(rest.response) },
    },
  });
};

const SCHEMA_REF = '#/components/schemas/';

/** The component names `value` refers to, anywhere inside it. */
function referencedSchemas(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedSchemas(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith(SCHEMA_REF)) found.add(child.slice(SCHEMA_REF.length));
      else referencedSchemas(child, found);
    }
  }
  return found;
}

/**
 * The components (fastify-type-provider-zod's) without the unused ones, and responses named.
 * Every registered zod schema comes out twice, as read (`<id>Input`) and as written (`<id>`); a
 * request body is only ever read and a response only ever written, so half are dead weight.
 */
const transformObject: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input);
  if (!('components' in document) || !document.components?.schemas) return document;
  // A fresh object from jsonSchemaTransformObject: pruned in place.
  const { schemas } = document.components;
  const used = referencedSchemas({ ...document, components: { ...document.components, schemas: {} } });
  // A Set visits what is added while it is iterated: references of references are followed too.
  for (const name of used) referencedSchemas(schemas[name], used);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  nameResponses(document.paths);
  return document;
};

/** fastify-swagger's "Default Response" (a response without description) becomes the status's name: "OK", "Created". */
function nameResponses(paths: unknown): void {
  for (const item of Object.values(asRecord(paths))) {
    for (const operation of Object.values(asRecord(item))) {
      for (const [status, response] of Object.entries(asRecord(asRecord(operation).responses))) {
        const entry = asRecord(response);
        if (entry.description === 'Default Response') entry.description = STATUS_CODES[status] ?? status;
      }
    }
  }
}

/**
 * OpenAPI document generated from the routes' zod schemas, served at /docs/json and
 * /openapi.json (where most tools look first), and Swagger UI at /docs (the home page, GET /,
 * links them: home-page.ts). "Authorize" uses the OAuth2 password flow against POST /api/auth/login.
 *
 * The document and Swagger UI are served only when `DOCS_ENABLED` (default: outside production);
 * otherwise they are 404 like any unknown path, and the home page does not link them. The
 * document is still built (`app.swagger()`) either way.
 * Swagger UI's page loads its scripts and styles as files from this origin (no inline script),
 * so the app-wide CSP of the browser guard covers it; the validator badge (an image from
 * validator.swagger.io) stays off.
 */
async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'BigTech Chat API',
        description: DESCRIPTION,
        version: '1.0.0',
      },
      // The spec's default spelled out (the lint wants servers): calls go to whichever host serves the document.
      servers: [{ url: '/', description: 'This server' }],
      tags: [
        { name: 'auth', description: 'Accounts and tokens' },
        { name: 'profile', description: 'Profiles and avatars' },
        { name: 'users', description: 'The user directory: search and look-ups by id' },
        { name: 'friends', description: 'Friends and friend requests' },
        { name: 'blocks', description: 'Blocked users' },
        { name: 'presence', description: 'Online status' },
        { name: 'rooms', description: 'Direct and group rooms' },
        { name: 'messages', description: 'Messages' },
        { name: 'health', description: 'Health checks' },
      ],
      components: {
        securitySchemes: {
          OAuth2PasswordBearer: {
            type: 'oauth2',
            flows: { password: { tokenUrl: '/api/auth/login', scopes: {} } },
          },
          BearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    transform,
    transformObject,
  });
  if (!app.config.DOCS_ENABLED) return;
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, docExpansion: 'list', deepLinking: true, validatorUrl: null },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export default fp(swaggerPlugin, { name: 'swagger', dependencies: ['config'] });
