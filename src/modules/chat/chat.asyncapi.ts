import { z } from 'zod';
import { clientFrame, serverFrames } from './chat.protocol.ts';

type JsonObject = Record<string, unknown>;

const SHARED = '__shared';

const pascal = (type: string) => type.replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());

/** Frames the streams carry (SSE `event:` is the frame type). */
const ROOM_STREAM_FRAMES = ['joined', 'reset', 'message', 'message_updated', 'message_deleted', 'reaction', 'read_receipt', 'system', 'room_updated', 'error'];
const USER_STREAM_FRAMES = [...ROOM_STREAM_FRAMES.filter((type) => type !== 'joined'), 'presence_snapshot', 'presence', 'notification', 'notifications_read'];

/**
 * Every frame schema as JSON Schema under `#/components/schemas`: frames, and what they share
 * (Message, Room, ...). zod puts schemas with ids it meets inside the registered ones under
 * `__shared`; they are lifted to components of their own.
 */
function frameSchemas(): { schemas: Record<string, JsonObject>; serverIds: Map<string, string>; clientIds: Map<string, string> } {
  const registry = z.registry<{ id: string }>();
  const serverIds = new Map<string, string>();
  const clientIds = new Map<string, string>();
  for (const [type, schema] of Object.entries(serverFrames)) {
    const id = String(schema.meta()?.id ?? `${pascal(type)}Frame`);
    registry.add(schema, { id });
    serverIds.set(type, id);
  }
  for (const option of clientFrame.options) {
    const type = String(option.shape.type.value);
    const id = `Client${pascal(type)}Frame`;
    registry.add(option, { id });
    clientIds.set(type, id);
  }
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-7', uri: (id) => `#/components/schemas/${id}` });
  const lifted: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    if (id === SHARED) {
      for (const [name, shared] of Object.entries((schema as { definitions?: Record<string, JsonObject> }).definitions ?? {})) lifted[name] = shared;
    } else lifted[id] = schema as JsonObject;
  }
  const json = JSON.stringify(lifted).replaceAll(`#/components/schemas/${SHARED}#/definitions/`, '#/components/schemas/');
  const cleaned = JSON.parse(json, (key, value: unknown) => (key === '$schema' || key === '$id' ? undefined : value)) as Record<string, JsonObject>;
  return { schemas: cleaned, serverIds, clientIds };
}

const refs = (ids: Iterable<string>) => Object.fromEntries([...ids].map((id) => [id, { $ref: `#/components/messages/${id}` }]));

/**
 * The AsyncAPI 3.0 document of the WebSocket chat and the SSE streams, generated from the zod
 * schemas the server validates with (client frames) and sends (server frames): never by hand.
 */
export function asyncApiDocument(): JsonObject {
  const { schemas, serverIds, clientIds } = frameSchemas();
  const messages: Record<string, JsonObject> = {};
  for (const [type, id] of [...serverIds, ...clientIds]) {
    const description = typeof schemas[id]?.description === 'string' ? schemas[id].description : undefined;
    messages[id] = { name: type, title: id, ...(description ? { summary: description } : {}), contentType: 'application/json', payload: { $ref: `#/components/schemas/${id}` } };
  }
  const pick = (types: string[]) => types.flatMap((type) => (serverIds.has(type) ? [serverIds.get(type)!] : []));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'BigTech Chat real-time API',
      version: '1.0.0',
      description:
        'The WebSocket chat (`/ws/chat`) and its SSE fallback. Authenticate with `?token=<jwt>`, the `Authorization` header or the `jwt_token` cookie. ' +
        'Room events carry an `event_id`; join with `since` (WebSocket) or send `Last-Event-ID` (SSE) to get every event missed, in order and once, or `reset`.',
    },
    servers: {
      local: { host: 'localhost:8000', protocol: 'ws', description: 'npm start (WebSocket; the SSE streams are on http)' },
    },
    channels: {
      chat: {
        address: '/ws/chat',
        title: 'WebSocket chat',
        description: 'One connection, any number of rooms. `/ws/chat/{room_id}` is the same connection already joined to that room.',
        messages: refs([...clientIds.values(), ...serverIds.values()]),
      },
      roomStream: {
        address: '/api/messages/stream/{room_id}',
        title: "One room's events (SSE)",
        parameters: { room_id: { description: 'The room (members only)' } },
        messages: refs(pick(ROOM_STREAM_FRAMES)),
      },
      userStream: {
        address: '/api/events/stream',
        title: 'All my rooms, notifications and presence (SSE)',
        messages: refs(pick(USER_STREAM_FRAMES)),
      },
    },
    operations: {
      receiveClientFrames: {
        action: 'receive',
        channel: { $ref: '#/channels/chat' },
        summary: 'Frames a client sends',
        messages: [...clientIds.values()].map((id) => ({ $ref: `#/channels/chat/messages/${id}` })),
      },
      sendServerFrames: {
        action: 'send',
        channel: { $ref: '#/channels/chat' },
        summary: 'Frames the server sends',
        messages: [...serverIds.values()].map((id) => ({ $ref: `#/channels/chat/messages/${id}` })),
      },
      sendRoomStream: {
        action: 'send',
        channel: { $ref: '#/channels/roomStream' },
        messages: pick(ROOM_STREAM_FRAMES).map((id) => ({ $ref: `#/channels/roomStream/messages/${id}` })),
      },
      sendUserStream: {
        action: 'send',
        channel: { $ref: '#/channels/userStream' },
        messages: pick(USER_STREAM_FRAMES).map((id) => ({ $ref: `#/channels/userStream/messages/${id}` })),
      },
    },
    components: { schemas, messages },
  };
}
