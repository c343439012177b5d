import { z } from 'zod';
import { messageSchema } from '../rooms/room-message.schemas.ts';
import { roomSchema } from '../rooms/room.schemas.ts';
import { notificationSchema } from '../notifications/notifications.schemas.ts';
import { clientFrame } from './chat.frames.ts';

/*
 * The frames the server sends, as zod schemas: the one description of the protocol, used for the
 * AsyncAPI document (/docs/asyncapi.json) and by the tests that check every frame the server
 * sends (test/fuzz). The client frames are `clientFrame` (chat.frames.ts), which validates them.
 */

const id = z.number().int().positive();
const timestamp = z.iso.datetime();
const eventId = z.string().regex(/^\d+-\d+$/).describe('The event id in its room (opaque, increasing): resume from it with `since`');

const WS_ERROR_CODES = ['AUTH_FAILED', 'UNAUTHORIZED', 'SEND_FAILED', 'BAD_REQUEST', 'RATE_LIMITED'] as const;

const frame = <T extends z.ZodRawShape>(name: string, description: string, shape: T) =>
  z.object(shape).strict().meta({ id: name, description });

export const serverFrames = {
  joined: frame('JoinedFrame', 'In the room (after any replayed events); `recovered` when `since` was honoured', {
    type: z.literal('joined'),
    room_id: id,
    online_user_ids: z.array(id),
    recovered: z.boolean(),
  }),
  reset: frame('ResetFrame', '`since` is older than the events kept: refetch the history over REST', { type: z.literal('reset'), room_id: id }),
  ack: frame('AckFrame', 'To the sender: the stored message (a retried temp_id gets the same one)', {
    type: z.literal('ack'),
    temp_id: z.string(),
    message: messageSchema,
  }),
  message: frame('MessageFrame', 'A new message in the room', { type: z.literal('message'), event_id: eventId, message: messageSchema }),
  message_updated: frame('MessageUpdatedFrame', 'A message was edited', { type: z.literal('message_updated'), event_id: eventId, message: messageSchema }),
  message_deleted: frame('MessageDeletedFrame', 'A message was deleted (content null)', {
    type: z.literal('message_deleted'),
    event_id: eventId,
    message: messageSchema,
  }),
  reaction: frame('ReactionFrame', 'Reactions of a message changed', { type: z.literal('reaction'), event_id: eventId, message: messageSchema }),
  read_receipt: frame('ReadReceiptFrame', 'A member read up to a message', {
    type: z.literal('read_receipt'),
    event_id: eventId,
    room_id: id,
    user_id: id,
    message_id: z.string(),
    read_at: timestamp,
  }),
  system: frame('SystemFrame', 'Someone connected to or left the room (room events), or is typing (not kept)', {
    type: z.literal('system'),
    event_id: eventId.optional(),
    event: z.enum(['USER_CONNECTED', 'USER_DISCONNECTED', 'TYPING']),
    room_id: id,
    user_id: id,
    is_typing: z.boolean().optional(),
    timestamp,
  }),
  room_updated: frame('RoomUpdatedFrame', 'Name, members or roles changed; `room` is null once deleted', {
    type: z.literal('room_updated'),
    event_id: eventId,
    room: roomSchema.nullable(),
  }),
  presence_snapshot: frame('PresenceSnapshotFrame', 'After presence_subscribe: every friend and whether they are online', {
    type: z.literal('presence_snapshot'),
    friends: z.array(z.object({ user_id: id, is_online: z.boolean() }).strict()),
  }),
  presence: frame('PresenceFrame', "A friend's online status changed", { type: z.literal('presence'), user_id: id, is_online: z.boolean() }),
  notification: frame('NotificationFrame', 'A notification of mine was raised or changed (to all my sockets and user streams)', {
    type: z.literal('notification'),
    notification: notificationSchema,
    unread_count: z.number().int().min(0).describe('My unread notifications now'),
  }),
  notifications_read: frame('NotificationsReadFrame', 'I marked notifications read (on any device): `ids`, or `all` up to `read_at`', {
    type: z.literal('notifications_read'),
    ids: z.union([z.array(z.number().int().positive()), z.literal('all')]),
    read_at: timestamp,
    unread_count: z.number().int().min(0),
  }),
  pong: frame('PongFrame', 'The answer to ping', { type: z.literal('pong') }),
  error: frame('ErrorFrame', 'A frame could not be handled; the connection stays open', {
    type: z.literal('error'),
    code: z.enum(WS_ERROR_CODES),
    message: z.string().min(1),
    temp_id: z.string().optional(),
  }),
};

export const serverFrame = z.discriminatedUnion('type', Object.values(serverFrames) as [
  (typeof serverFrames)[keyof typeof serverFrames],
  ...(typeof serverFrames)[keyof typeof serverFrames][],
]);

export type ServerFrame = z.infer<typeof serverFrame>;

export { clientFrame };
