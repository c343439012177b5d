import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../lib/http-schemas.ts';
import { takeStreamSlot } from '../../plugins/abuse-limits.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import { roomIdParam } from '../rooms/room-id.ts';
import type { ChatStreams } from './chat-streams.service.ts';

const streamQuery = z.object({
  token: z.string().optional().describe('Access token, for EventSource (which cannot set headers)'),
  last_event_id: z.string().max(4096).optional().describe('Resume after this event id (else the Last-Event-ID header)'),
});

const roomStreamBody = z.string().meta({
  id: 'RoomEventStream',
  description: 'An endless `text/event-stream` body',
  examples: ['event: connected\ndata: {"room_id":10}\n\nevent: joined\ndata: {"type":"joined","room_id":10,"online_user_ids":[1],"recovered":false}\n\n'],
});
const userStreamBody = z.string().meta({
  id: 'UserEventStream',
  description: 'An endless `text/event-stream` body',
  examples: ['event: connected\nid: eyJ0IjoxLCJyIjoie30ifQ\ndata: {"room_ids":[10],"recovered":false}\n\n'],
});

const COMMON = [
  'Server-Sent Events (`text/event-stream`), the fallback of the WebSocket chat for clients that cannot hold one.',
  'Authenticate with the `Authorization` header, the `token` query parameter or the `jwt_token` cookie.',
  'Each event is a WebSocket frame: `event:` is the frame `type`, `data:` the same JSON. First `connected`;',
  '`: keep-alive` comments at least every 30 s; `error` `{"message"}` before the server ends the stream.',
  'Room events carry `id:`, so EventSource resumes by itself through `Last-Event-ID` (or `?last_event_id=`):',
  'the events missed are replayed in order, exactly once; when they are no longer kept, a `reset` event',
  '`{"room_id"}` says to refetch that room over REST.',
].join(' ');

const ROOM_DESCRIPTION = `${COMMON} This stream: one room's events (\`message\`, \`message_updated\`, \`message_deleted\`, \`reaction\`, \`read_receipt\`, \`room_updated\`, \`system\`), then \`joined\` \`{"room_id", "online_user_ids", "recovered"}\` once caught up. Members only.`;
const USER_DESCRIPTION = `${COMMON} This stream: the events of all my rooms (without joining them), \`notification\` events, and friends' presence (\`presence_snapshot\`, then \`presence\`). Its \`id:\` is an opaque cursor that resumes every room at once.`;

function lastEventIdOf(request: FastifyRequest, query: { last_event_id?: string | undefined }): string | undefined {
  const header = request.headers['last-event-id'];
  return query.last_event_id ?? (typeof header === 'string' && header.length <= 4096 ? header : undefined);
}

/** GET /api/messages/stream/:room_id and GET /api/events/stream (chat module: real-time delivery). */
export const chatStreamRoutes: FastifyPluginAsyncZod<{ streams: ChatStreams }> = async (app, { streams }) => {
  app.get('/api/messages/stream/:room_id', {
    exposeHeadRoute: false,
    onRequest: app.authenticate,
    schema: {
      tags: ['messages'],
      summary: "One room's live events (Server-Sent Events)",
      description: ROOM_DESCRIPTION,
      security: BEARER_SECURITY,
      params: z.object({ room_id: roomIdParam }),
      querystring: streamQuery,
      response: {
        200: { description: 'An endless event stream (see above)', content: { 'text/event-stream': { schema: roomStreamBody } } },
        ...errorResponses(400, 401, 403, 404, 429, 503),
      },
    },
  }, async (request, reply) => {
    const auth = requireAuth(request);
    await takeStreamSlot(app.abuseLimits, auth.userId, request, reply);
    await streams.openRoom(auth, request.params.room_id, lastEventIdOf(request, request.query), request, reply);
  });

  app.get('/api/events/stream', {
    exposeHeadRoute: false,
    onRequest: app.authenticate,
    schema: {
      tags: ['messages'],
      summary: 'Everything of mine: all my rooms, notifications, presence (Server-Sent Events)',
      description: USER_DESCRIPTION,
      security: BEARER_SECURITY,
      querystring: streamQuery,
      response: {
        200: { description: 'An endless event stream (see above)', content: { 'text/event-stream': { schema: userStreamBody } } },
        ...errorResponses(400, 401, 429, 503),
      },
    },
  }, async (request, reply) => {
    const auth = requireAuth(request);
    await takeStreamSlot(app.abuseLimits, auth.userId, request, reply);
    await streams.openUser(auth, lastEventIdOf(request, request.query), request, reply);
  });
};
