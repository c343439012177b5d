import { z } from 'zod';
import { idParam as roomIdParam, searchText } from '../../lib/http-schemas.ts';
import { MESSAGE_TYPES, messageSchema, type MessageView, REACTION_KINDS } from '../rooms/room-message.schemas.ts';

export const MAX_TEXT_LENGTH = 4000;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

// The message's wire shape is declared by rooms (a room shows its last message).
export { messageSchema, type MessageView };

export const messageEnvelope = z.object({ message: messageSchema }).meta({ id: 'MessageResponse' });
export const messagesEnvelope = z.object({ messages: z.array(messageSchema) }).meta({ id: 'MessageList' });

export const roomParams = z.object({ room_id: roomIdParam });
export const messageParams = z.object({
  room_id: roomIdParam,
  // Any string: an id the live store could never have issued is simply not found (404).
  message_id: z.string().min(1).max(200).describe('Opaque message id'),
});

export const sendBody = z
  .object({
    content: z.string().max(4 * MAX_TEXT_LENGTH).nullable().optional().describe('Required for text: 1-4000 characters after trimming'),
    message_type: z.enum(MESSAGE_TYPES).default('text').describe('"system" is reserved for the server'),
    attachment_url: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .nullable()
      .optional()
      .describe("Without attachment_id: an https: URL or one of this server's own /uploads/ or /api/attachments/ URLs"),
    attachment_id: z
      .string()
      .min(1)
      .max(64)
      .nullable()
      .optional()
      .describe('For image and file messages: my upload into this room (POST /api/messages/:room_id/attachments), sent once'),
    reply_to: z.string().min(1).max(200).nullable().optional().describe('Id of a message in the same room'),
    client_message_id: z
      .string()
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .describe("The client's temporary id: sending it again returns the first message (200) instead of a new one"),
  })
  .strict()
  .meta({ id: 'NewMessage', examples: [{ content: '안녕하세요! Hello 👋', message_type: 'text' }] });

export type SendBody = z.infer<typeof sendBody>;

export const editBody = z
  .object({ content: z.string().max(4 * MAX_TEXT_LENGTH).describe('1-4000 characters after trimming') })
  .strict()
  .meta({ id: 'MessageEdit', examples: [{ content: '안녕하세요! (edited)' }] });

export const reactionBody = z.object({ reaction: z.enum(REACTION_KINDS) }).strict().meta({ id: 'ReactionToggle', examples: [{ reaction: 'like' }] });

export const readBody = z
  .object({ message_id: z.string().min(1).max(200) })
  .strict()
  .meta({ id: 'ReadMark', examples: [{ message_id: '65b0c0ffee0000000000002a' }] });

export const readStateSchema = z
  .object({
    room_id: z.number().int(),
    user_id: z.number().int(),
    last_read_message_id: z.string().nullable(),
    read_at: z.string().nullable(),
    unread_count: z.number().int(),
  })
  .meta({
    id: 'ReadState',
    examples: [{ room_id: 10, user_id: 1, last_read_message_id: '65b0c0ffee0000000000002a', read_at: '2026-01-23T09:31:00.000Z', unread_count: 0 }],
  });

export type ReadStateView = z.infer<typeof readStateSchema>;

export const historyQuery = z.object({
  before: z.string().min(1).max(400).optional().describe('`next_cursor` of the previous page'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});

export const historyResponse = z.object({
  messages: z.array(messageSchema).describe('Newest first'),
  next_cursor: z.string().nullable(),
  has_more: z.boolean(),
}).meta({ id: 'MessageHistory' });

export type HistoryView = z.infer<typeof historyResponse>;

export const searchQuery = z.object({
  q: searchText(1, 100).describe('Text to find (case-insensitive) in this room'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});
