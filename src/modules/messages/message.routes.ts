import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, noContent } from '../../lib/http-schemas.ts';
import { sendJson } from '../../lib/raw-json.ts';
import { bindRoomLog } from '../../lib/room-log.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import {
  editBody,
  historyQuery,
  historyResponse,
  messageEnvelope,
  messageParams,
  messagesEnvelope,
  reactionBody,
  readBody,
  readStateSchema,
  roomParams,
  searchQuery,
  sendBody,
} from './message.schemas.ts';

const tags = ['messages'];

/** /api/messages/:room_id: members only (unknown room 404, not a member 403). */
const messageRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', bindRoomLog);
  const messages = app.messages.service;

  app.post('/:room_id', {
    schema: {
      tags,
      summary: 'Send a message (201; the same client_message_id again returns the first message with 200)',
      security: BEARER_SECURITY,
      params: roomParams,
      body: sendBody,
      response: { 200: messageEnvelope, 201: messageEnvelope, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    const { userId } = requireAuth(request);
    // One bucket per user for REST and WebSocket sends together (the dispatcher takes from it too).
    const limit = await app.abuseLimits.message(userId);
    if (!limit.allowed) throw limit.error;
    const { message, created } = await messages.send(userId, request.params.room_id, request.body);
    return reply.code(created ? 201 : 200).send({ message });
  });

  app.get('/:room_id', {
    schema: {
      tags,
      summary: 'History, newest first; pass next_cursor as `before` for older messages',
      security: BEARER_SECURITY,
      params: roomParams,
      querystring: historyQuery,
      response: { 200: historyResponse, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => sendJson(reply, await messages.history(requireAuth(request).userId, request.params.room_id, request.query)));

  app.get('/:room_id/search', {
    schema: {
      tags,
      summary: 'Messages of this room containing the text (case-insensitive), newest first',
      security: BEARER_SECURITY,
      params: roomParams,
      querystring: searchQuery,
      response: { 200: messagesEnvelope, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({
    messages: await messages.search(requireAuth(request).userId, request.params.room_id, request.query.q, request.query.limit),
  }));

  app.post('/:room_id/read', {
    schema: {
      tags,
      summary: 'Mark everything up to this message as read by me (never moves backwards)',
      security: BEARER_SECURITY,
      params: roomParams,
      body: readBody,
      response: { 200: readStateSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => messages.markRead(requireAuth(request).userId, request.params.room_id, request.body.message_id));

  app.put('/:room_id/:message_id', {
    schema: {
      tags,
      summary: 'Edit my message (author only; a deleted message: 409)',
      security: BEARER_SECURITY,
      params: messageParams,
      body: editBody,
      response: { 200: messageEnvelope, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => ({
    message: await messages.edit(requireAuth(request).userId, request.params.room_id, request.params.message_id, request.body.content),
  }));

  app.delete('/:room_id/:message_id', {
    schema: {
      tags,
      summary: 'Delete a message (author, or a group owner/admin); it keeps its place with content null',
      security: BEARER_SECURITY,
      params: messageParams,
      response: { 204: noContent, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await messages.delete(requireAuth(request).userId, request.params.room_id, request.params.message_id);
    return reply.code(204).send(null);
  });

  app.post('/:room_id/:message_id/reactions', {
    schema: {
      tags,
      summary: 'Toggle my reaction (like, love, laugh, sad, angry)',
      security: BEARER_SECURITY,
      params: messageParams,
      body: reactionBody,
      response: { 200: messageEnvelope, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => ({
    message: await messages.react(requireAuth(request).userId, request.params.room_id, request.params.message_id, request.body.reaction),
  }));
};

export default messageRoutes;
