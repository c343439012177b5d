import { z } from 'zod';
import type { DomainEvent } from '../../lib/domain-events.ts';

/** Frames a client may send over /ws/chat, validated one by one. */

const roomId = z.number().int().positive().max(2_147_483_647);

export const clientFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('join'),
    room_id: roomId,
    since: z.string().max(40).optional().describe('The last event_id seen in this room: the events after it are replayed'),
  }),
  z.object({ type: z.literal('leave'), room_id: roomId }),
  z.object({
    type: z.literal('message'),
    room_id: roomId,
    content: z.string().max(4000).nullable().optional(),
    message_type: z.enum(['text', 'image', 'file', 'sticker']).optional(),
    attachment_url: z.string().max(500).nullable().optional(),
    attachment_id: z.string().max(64).nullable().optional(),
    reply_to: z.string().max(64).nullable().optional(),
    temp_id: z.string().min(1).max(100),
  }),
  z.object({ type: z.literal('typing'), room_id: roomId, is_typing: z.boolean() }),
  z.object({ type: z.literal('read'), room_id: roomId, message_id: z.string().min(1).max(64) }),
  z.object({ type: z.literal('ping') }),
  z.object({ type: z.literal('presence_subscribe') }),
  z.object({ type: z.literal('presence_unsubscribe') }),
]);

export type ClientFrame = z.infer<typeof clientFrame>;
export type MessageFrame = Extract<ClientFrame, { type: 'message' }>;

export type ErrorCode = 'AUTH_FAILED' | 'UNAUTHORIZED' | 'SEND_FAILED' | 'BAD_REQUEST' | 'RATE_LIMITED';

export type SystemEvent = 'USER_CONNECTED' | 'USER_DISCONNECTED' | 'TYPING';

export function errorFrame(code: ErrorCode, message: string, tempId?: string): string {
  return JSON.stringify({ type: 'error', code, message, ...(tempId ? { temp_id: tempId } : {}) });
}

export function systemFrame(event: SystemEvent, roomId: number, userId: number, options: { isTyping?: boolean; eventId?: string } = {}): string {
  return JSON.stringify({
    type: 'system',
    ...(options.eventId === undefined ? {} : { event_id: options.eventId }),
    event,
    room_id: roomId,
    user_id: userId,
    ...(options.isTyping === undefined ? {} : { is_typing: options.isTyping }),
    timestamp: new Date().toISOString(),
  });
}

/**
 * A frame written to many subscribers: serialised once, and encoded to UTF-8 once, the first
 * time a socket asks for the bytes. `ws` writes a Buffer as it is, where a string would be
 * measured (`Buffer.byteLength`) and encoded again on every socket's write.
 */
export class SharedFrame {
  private encoded: Buffer | undefined;
  private framed: Buffer | undefined;

  constructor(readonly text: string) {}

  get bytes(): Buffer {
    return (this.encoded ??= Buffer.from(this.text, 'utf8'));
  }

  /** The whole WebSocket text frame, header and payload, as a server sends it (unmasked, uncompressed). */
  get wire(): Buffer {
    return (this.framed ??= textFrameOf(this.bytes));
  }
}

/**
 * RFC 6455 §5.2 header of a final, unmasked text frame, followed by `payload`, in one Buffer.
 * By hand because ws frames inside `send` only (its `Sender.frame` is not part of its typed
 * API): `send` would build the same header again for every socket and write it apart from the
 * payload, where one frame built per event is one write per socket.
 */
function textFrameOf(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/** A frame for one subscriber (a string) or for many (a SharedFrame). */
export type OutgoingFrame = string | SharedFrame;

export function textOf(frame: OutgoingFrame): string {
  return typeof frame === 'string' ? frame : frame.text;
}

/**
 * The frame of a room event, with its `event_id`: the same for live delivery and for replay.
 * Undefined for events that are not room events.
 */
export function roomEventFrame(event: DomainEvent): string | undefined {
  const id = event.event_id === undefined ? {} : { event_id: event.event_id };
  switch (event.type) {
    case 'message_created':
      return JSON.stringify({ type: 'message', ...id, message: event.message });
    case 'message_updated':
      return JSON.stringify({ type: 'message_updated', ...id, message: event.message });
    case 'message_deleted':
      return JSON.stringify({ type: 'message_deleted', ...id, message: event.message });
    case 'reaction_changed':
      return JSON.stringify({ type: 'reaction', ...id, message: event.message });
    case 'read_updated':
      return JSON.stringify({ type: 'read_receipt', ...id, room_id: event.room_id, user_id: event.user_id, message_id: event.message_id, read_at: event.read_at });
    case 'room_changed':
      return JSON.stringify({ type: 'room_updated', ...id, room: event.room });
    case 'room_occupancy':
      return systemFrame(event.event, event.room_id, event.user_id, { eventId: event.event_id });
    default:
      return undefined;
  }
}

/**
 * A room event replayed from history to `viewerId`: its frame, or undefined when there is none
 * or live delivery would not send it to them (their own arrival or departure).
 */
export function replayFrame(event: DomainEvent, viewerId: number): string | undefined {
  if (event.type === 'room_occupancy' && event.user_id === viewerId) return undefined;
  return roomEventFrame(event);
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
