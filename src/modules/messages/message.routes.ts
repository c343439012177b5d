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
    // Its message token is taken in authentication's Redis round trip (see abuse-limits).
    config: { sendsMessage: true },
    schema: {
      tags,
      summary: 'Send a message (201; the same client_message_id again returns the first message with 200)',
      description: "Stores a message in the room (members only: 403) and pushes it to the room's WebSocket clients on every instance. `content` is 1-4000 characters for text; image and file messages need `attachment_url`. Give a `client_message_id` to make retries safe: the same one again returns the first message with 200 instead of storing a second. Limited per user (`MESSAGE_RATE_PER_USER`, with REST and WebSocket sends together).",
      security: BEARER_SECURITY,
      params: roomParams,
      body: sendBody,
      response: { 200: messageEnvelope, 201: messageEnvelope, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    const { userId } = requireAuth(request);
    // One bucket per user for REST and WebSocket sends together (the dispatcher takes from it too).
    const limit = await app.abuseLimits.message(userId, request);
    if (!limit.allowed) throw limit.error;
    const { message, created } = await messages.send(userId, request.params.room_id, request.body);
    if (!created) limit.giveBack(); // a resend of a stored message: nothing new was sent
    return reply.code(created ? 201 : 200).send({ message });
  });

  app.get('/:room_id', {
    schema: {
      tags,
      summary: 'History, newest first; pass next_cursor as `before` for older messages',
      description: "The room's messages, newest first, `limit` at a time (default 50, at most 100). When `has_more` is true, pass `next_cursor` as `before` to get the next older page. Deleted messages keep their place with `content: null`.",
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
      description: 'Messages of this room whose text contains `q` (case-insensitive), newest first, at most `limit`.',
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
      description: "Moves your read pointer in this room to `message_id` (an older one than the current pointer changes nothing) and returns your read state with the remaining `unread_count`. The room's WebSocket clients get a `read_receipt`.",
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
      description: "Replaces the text of your own message (others' messages: 403; a deleted one: 409). The message gets `is_edited`, `edited_at` and a higher `version`, and is pushed to the room.",
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
      description: "Deletes a message: your own, or anyone's in a group you own or administer (403 otherwise). It stays in the history with `content: null` and `is_deleted: true`.",
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
      description: 'Adds your reaction of this kind to the message, or removes it if you had already given it, and returns the message with its `reactions` (user ids per kind). 409 on a deleted message.',
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
