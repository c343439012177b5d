import { z } from 'zod';
import { attachmentSchema } from './room-attachment.schemas.ts';

/*
 * A room shows its last message, so the message's wire shape is declared here, upstream: the
 * messages module serves exactly this shape (and re-exports it), and rooms never imports messages.
 */

export const MESSAGE_TYPES = ['text', 'image', 'file', 'sticker', 'system'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const REACTION_KINDS = ['like', 'love', 'laugh', 'sad', 'angry'] as const;
export type ReactionKind = (typeof REACTION_KINDS)[number];

/** A message as the document shows one (a room's example embeds it). */
export const messageExample = {
  id: '65b0c0ffee0000000000002a',
  room_id: 10,
  seq: 42,
  user_id: 1,
  content: '안녕하세요! Hello 👋',
  message_type: 'text',
  attachment_url: null,
  attachment: null,
  reply_to: null,
  is_edited: false,
  edited_at: null,
  is_deleted: false,
  reactions: { like: [2] },
  created_at: '2026-01-23T09:30:00.000Z',
  client_message_id: '0b7e4c1a-5d2f-4f7e-9a3b-2c1d0e9f8a7b',
  version: 2,
};

export const messageSchema = z
  .object({
    id: z.string().describe('Opaque message id'),
    room_id: z.number().int(),
    seq: z
      .number()
      .int()
      .min(1)
      .describe("The message's position in its room: 1, 2, 3, ... in the order messages were stored"),
    user_id: z.number().int(),
    content: z.string().nullable().describe('null once the message is deleted'),
    message_type: z.enum(MESSAGE_TYPES),
    attachment_url: z.string().nullable(),
    attachment: attachmentSchema.nullable().describe("The uploaded attachment this message sends (attachment_url is then its url)"),
    reply_to: z.string().nullable(),
    is_edited: z.boolean(),
    edited_at: z.string().nullable(),
    is_deleted: z.boolean(),
    reactions: z.partialRecord(z.enum(REACTION_KINDS), z.array(z.number().int())).describe('User ids per reaction kind'),
    created_at: z.string(),
    client_message_id: z.string().nullable(),
    version: z
      .number()
      .int()
      .min(1)
      .describe('1 when sent, +1 with every edit, deletion or reaction; of two copies of a message, keep the higher version'),
  })
  .meta({ id: 'Message', examples: [messageExample] });

export type MessageView = z.infer<typeof messageSchema>;
