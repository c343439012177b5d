import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../lib/http-schemas.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import { listQuery, listResponse, readBody, unreadCountResponse } from './notifications.schemas.ts';

const tags = ['notifications'];

/** /api/notifications: my notifications (they are raised by other features' events, see the service). */
const notificationsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);
  const notifications = app.notifications.service;

  app.get('', {
    schema: {
      tags,
      summary: 'My notifications, newest first; pass next_cursor as `before` for older ones',
      description:
        'Friend requests, accepted requests, mentions (`@username`) and messages in rooms none of my sockets has joined ' +
        '(one unread `message` notification per room, whose `count` and `preview` follow the newest message; muted rooms raise none). ' +
        '`unread_only=true` lists the unread ones; `unread_count` counts them all. New and changed ones also arrive live as `notification` frames.',
      security: BEARER_SECURITY,
      querystring: listQuery,
      response: { 200: listResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => notifications.list(requireAuth(request).userId, request.query));

  app.post('/read', {
    schema: {
      tags,
      summary: 'Mark notifications read: `{ids}` (mine; others are ignored) or `{all: true}`',
      description: 'Answers my unread count after the change; my other sockets and user streams get a `notifications_read` frame.',
      security: BEARER_SECURITY,
      body: readBody,
      response: { 200: unreadCountResponse, ...errorResponses(400, 401) },
    },
  }, async (request) => notifications.markRead(requireAuth(request).userId, request.body));
};

export default notificationsRoutes;
