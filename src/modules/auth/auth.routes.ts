import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, noContent } from '../../lib/http-schemas.ts';
import { AUTH_COOKIE, BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import { authIpRateLimit } from '../../plugins/rate-limit.ts';
import { userEnvelope } from '../users/user.schemas.ts';
import { toUserView } from '../users/user.view.ts';
import { formLoginBody, jsonLoginBody, registerBody, tokenResponse, type TokenResponse } from './auth.schemas.ts';

const authRoutes: FastifyPluginAsyncZod = async (app) => {
  // Tokens, emails and the like are never kept by a browser or proxy cache (errors included).
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });
  await app.register(credentialRoutes);

  app.post('/logout', {
    onRequest: app.authenticate,
    schema: {
      tags: ['auth'],
      summary: 'Log out: revokes this token and marks me offline',
      description: 'Revokes this token on every server instance (it is refused with 401 from now on), clears the `jwt_token` cookie, marks you offline and tells your friends.',
      security: BEARER_SECURITY,
      response: { 204: noContent, ...errorResponses(401) },
    },
  }, async (request, reply) => {
    await app.auth.logout(requireAuth(request));
    return reply.clearCookie(AUTH_COOKIE, { path: '/' }).code(204).send(null);
  });

  app.get('/me', {
    onRequest: app.authenticate,
    schema: {
      tags: ['auth'],
      summary: 'The signed-in user',
      description: 'The account the token belongs to, email included.',
      security: BEARER_SECURITY,
      response: { 200: userEnvelope, ...errorResponses(401) },
    },
  }, async (request) => {
    const user = await app.auth.currentUser(requireAuth(request));
    return { user: toUserView(user, { showEmail: true }) };
  });
};

/**
 * Register and login: besides the per-user (or per-address) API limit, AUTH_RATE_PER_IP calls a
 * minute per client IP, counted together over the three routes by @fastify/rate-limit,
 * registered in this context so that it counts these routes only.
 */
const credentialRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(fastifyRateLimit, authIpRateLimit(app));

  app.post('/register', {
    schema: {
      tags: ['auth'],
      summary: 'Create an account',
      description: 'A new account: `username` 3-50 letters, digits or underscores; `password` 8-72 bytes, not a common password and not the username or email (400 says why). An email or username already taken: 409. Log in afterwards to get a token. Limited per IP (`AUTH_RATE_PER_IP` a minute).',
      body: registerBody,
      response: { 201: userEnvelope, ...errorResponses(400, 409, 429) },
    },
  }, async (request, reply) => {
    const user = await app.auth.register(request.body);
    return reply.code(201).send({ user: toUserView(user, { showEmail: true }) });
  });

  app.post('/login/json', {
    schema: {
      tags: ['auth'],
      summary: 'Log in with email and password (JSON)',
      description: 'Checks the email (or username) and password and returns an access token (`Authorization: Bearer <access_token>`) valid for `expires_in` seconds; also sets the `jwt_token` cookie and marks you online. A wrong email and a wrong password both give 401 `invalid_credentials`. Failed logins are limited per account and IP (429 with `Retry-After`).',
      body: jsonLoginBody,
      response: { 200: tokenResponse, ...errorResponses(400, 401, 429) },
    },
  }, async (request, reply) => withCookie(app, reply, await app.auth.login(request.body.email, request.body.password, request.ip)));

  app.post('/login', {
    config: { bodies: ['form'] },
    schema: {
      tags: ['auth'],
      summary: 'Log in (OAuth2 password flow, form encoded; used by Swagger "Authorize")',
      description: "The same login as `POST /api/auth/login/json` as an OAuth2 password-flow form (`application/x-www-form-urlencoded`): `username` takes a username or an email. Swagger UI's **Authorize** button calls it.",
      consumes: ['application/x-www-form-urlencoded'],
      body: formLoginBody,
      response: { 200: tokenResponse, ...errorResponses(400, 401, 429) },
    },
  }, async (request, reply) => withCookie(app, reply, await app.auth.login(request.body.username, request.body.password, request.ip)));
};

function withCookie(app: FastifyInstance, reply: FastifyReply, body: TokenResponse) {
  return reply
    .setCookie(AUTH_COOKIE, body.access_token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: app.config.NODE_ENV === 'production',
      maxAge: body.expires_in,
    })
    .send(body);
}

export default authRoutes;
