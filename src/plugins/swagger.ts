import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * OpenAPI document generated from the routes' zod schemas, served at /docs/json, and Swagger UI
 * at /docs. "Authorize" uses the OAuth2 password flow against POST /api/auth/login.
 *
 * Both are served only when `DOCS_ENABLED` (default: outside production). The document is still
 * built (`app.swagger()`) either way. Swagger UI's page loads its scripts and styles as files
 * from this origin (no inline script), so the app-wide CSP of the browser guard covers it; the
 * validator badge (an image from validator.swagger.io) stays off.
 */
async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'BigTech Chat API',
        description:
          'REST API of BigTech Chat. Click **Authorize**, enter your username (or email) and password: ' +
          'Swagger UI logs in through `POST /api/auth/login` and sends the token on every call.',
        version: '1.0.0',
      },
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
    transform: jsonSchemaTransform,
  });
  if (!app.config.DOCS_ENABLED) return;
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, docExpansion: 'list', deepLinking: true, validatorUrl: null },
  });
}

export default fp(swaggerPlugin, { name: 'swagger', dependencies: ['config'] });
