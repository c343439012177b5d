import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, noContent } from '../../lib/http-schemas.ts';
import { parsingMultipart } from '../../lib/multipart.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import { userEnvelope } from '../users/user.schemas.ts';
import { avatarUploadForm, profileParams, updateProfileBody } from './profile.schemas.ts';

const profileRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.get('/me', {
    schema: {
      tags: ['profile'],
      summary: 'My profile',
      description: 'Your own profile, email included.',
      security: BEARER_SECURITY,
      response: { 200: userEnvelope, ...errorResponses(401, 404) },
    },
  }, async (request) => ({ user: await app.profiles.me(requireAuth(request).userId) }));

  app.put('/me', {
    schema: {
      tags: ['profile'],
      summary: 'Update my display name and status message',
      description: 'Changes the fields you send (`null` clears one); fields you leave out stay as they are.',
      security: BEARER_SECURITY,
      body: updateProfileBody,
      response: { 200: userEnvelope, ...errorResponses(400, 401) },
    },
  }, async (request) => ({ user: await app.profiles.update(requireAuth(request).userId, request.body) }));

  app.post('/me/image', {
    config: { bodies: ['multipart'] },
    schema: {
      tags: ['profile'],
      summary: 'Upload my avatar (multipart field "image"; PNG, JPEG, WebP or GIF; at most 5 MB)',
      description: "Send the picture as the multipart field `image`. PNG, JPEG, WebP and GIF are accepted, judged by the file's content rather than its name (anything else: 415); at most 5 MB (413). Replaces your previous avatar; the response's `profile_image_url` points under `/uploads/`.",
      security: BEARER_SECURITY,
      consumes: ['multipart/form-data'],
      documentedBody: avatarUploadForm,
      response: { 200: userEnvelope, ...errorResponses(400, 401, 413, 415) },
    },
  }, async (request) => {
    const file = await parsingMultipart(() => request.file());
    return { user: await app.profiles.replaceAvatar(requireAuth(request).userId, file) };
  });

  app.delete('/me/image', {
    schema: {
      tags: ['profile'],
      summary: 'Remove my avatar',
      description: 'Deletes your avatar file; `profile_image_url` becomes null.',
      security: BEARER_SECURITY,
      response: { 204: noContent, ...errorResponses(401) },
    },
  }, async (request, reply) => {
    await app.profiles.removeAvatar(requireAuth(request).userId);
    return reply.code(204).send(null);
  });

  app.get('/:user_id', {
    schema: {
      tags: ['profile'],
      summary: "Another user's profile",
      description: "Another user's profile; the email is shown only to their friends. 404 when the user is unknown, inactive, or when either of you blocked the other.",
      security: BEARER_SECURITY,
      params: profileParams,
      response: { 200: userEnvelope, ...errorResponses(400, 401, 404) },
    },
  }, async (request) => ({ user: await app.profiles.view(requireAuth(request).userId, request.params.user_id) }));
};

export default profileRoutes;
