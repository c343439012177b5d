import { z } from 'zod';

/** Frames a client may send over /ws/chat, validated one by one. */

const roomId = z.number().int().positive().max(2_147_483_647);

export const clientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('join'), room_id: roomId }),
  z.object({ type: z.literal('leave'), room_id: roomId }),
  z.object({
    type: z.literal('message'),
    room_id: roomId,
    content: z.string().max(4000).nullable().optional(),
    message_type: z.enum(['text', 'image', 'file', 'sticker']).optional(),
    attachment_url: z.string().max(500).nullable().optional(),
    reply_to: z.string().max(64).nullable().optional(),
    temp_id: z.string().min(1).max(100),
  }),
  z.object({ type: z.literal('typing'), room_id: roomId, is_typing: z.boolean() }),
  z.object({ type: z.literal('read'), room_id: roomId, message_id: z.string().min(1).max(64) }),
  z.object({ type: z.literal('ping') }),
]);

export type ClientFrame = z.infer<typeof clientFrame>;
export type MessageFrame = Extract<ClientFrame, { type: 'message' }>;

export type ErrorCode = 'AUTH_FAILED' | 'UNAUTHORIZED' | 'SEND_FAILED' | 'BAD_REQUEST' | 'RATE_LIMITED';

export type SystemEvent = 'USER_CONNECTED' | 'USER_DISCONNECTED' | 'TYPING';

export function errorFrame(code: ErrorCode, message: string, tempId?: string): string {
  return JSON.stringify({ type: 'error', code, message, ...(tempId ? { temp_id: tempId } : {}) });
}

export function systemFrame(event: SystemEvent, roomId: number, userId: number, isTyping?: boolean): string {
  return JSON.stringify({
    type: 'system',
    event,
    room_id: roomId,
    user_id: userId,
    ...(isTyping === undefined ? {} : { is_typing: isTyping }),
    timestamp: new Date().toISOString(),
  });
}

/** Parses a raw text frame; the error says what is wrong in a line. */
export function parseClientFrame(raw: string): { frame: ClientFrame } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { error: 'Frames must be JSON text' };
  }
  const parsed = clientFrame.safeParse(json);
  if (parsed.success) return { frame: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.');
  return { error: field ? `${field}: ${issue?.message}` : (issue?.message ?? 'Invalid frame') };
}
