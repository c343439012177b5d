/**
 * The WebSocket and SSE frames of the BigTech Chat protocol (contract: WebSocket chat, Events and
 * recovery), as a client sees them. REST bodies come from the OpenAPI document (./schema.ts).
 */

import type { components } from './schema.ts';

export type Attachment = components['schemas']['Attachment'];

export type Reaction = 'like' | 'love' | 'laugh' | 'sad' | 'angry';

export interface Message {
  id: string;
  room_id: number;
  seq: number;
  user_id: number;
  content: string | null;
  message_type: 'text' | 'image' | 'file' | 'sticker' | 'system';
  attachment_url: string | null;
  reply_to: string | null;
  is_edited: boolean;
  edited_at: string | null;
  is_deleted: boolean;
  version: number;
  reactions: Partial<Record<Reaction, number[]>>;
  created_at: string;
  client_message_id: string | null;
  /** The uploaded attachment this message sends (attachment_url is then its url). */
  attachment?: Attachment | null;
  [extra: string]: unknown;
}

export interface Notification {
  id: number;
  type: 'friend_request' | 'friend_accepted' | 'message' | 'mention';
  actor_id: number | null;
  room_id: number | null;
  message_id: string | null;
  preview: string | null;
  count: number;
  created_at: string;
  read_at: string | null;
}

export type ErrorCode = 'AUTH_FAILED' | 'UNAUTHORIZED' | 'SEND_FAILED' | 'BAD_REQUEST' | 'RATE_LIMITED';

export interface ServerFrames {
  joined: { type: 'joined'; room_id: number; online_user_ids: number[]; recovered: boolean };
  reset: { type: 'reset'; room_id: number };
  ack: { type: 'ack'; temp_id: string; message: Message };
  message: { type: 'message'; event_id: string; message: Message };
  message_updated: { type: 'message_updated'; event_id: string; message: Message };
  message_deleted: { type: 'message_deleted'; event_id: string; message: Message };
  reaction: { type: 'reaction'; event_id: string; message: Message };
  read_receipt: { type: 'read_receipt'; event_id: string; room_id: number; user_id: number; message_id: string; read_at: string };
  system: {
    type: 'system';
    event_id?: string;
    event: 'USER_CONNECTED' | 'USER_DISCONNECTED' | 'TYPING';
    room_id: number;
    user_id: number;
    is_typing?: boolean;
    timestamp: string;
  };
  room_updated: { type: 'room_updated'; event_id: string; room: Record<string, unknown> | null };
  presence_snapshot: { type: 'presence_snapshot'; friends: { user_id: number; is_online: boolean }[] };
  presence: { type: 'presence'; user_id: number; is_online: boolean };
  notification: { type: 'notification'; notification: Notification; unread_count: number };
  notifications_read: { type: 'notifications_read'; ids: number[] | 'all'; read_at: string; unread_count: number };
  pong: { type: 'pong' };
  error: { type: 'error'; code: ErrorCode; message: string; temp_id?: string };
}

export type ServerFrameType = keyof ServerFrames;
export type ServerFrame = ServerFrames[ServerFrameType];

/** Frames that are room events: they carry the `event_id` recovery resumes from. */
export const ROOM_EVENT_TYPES: ReadonlySet<string> = new Set([
  'message',
  'message_updated',
  'message_deleted',
  'reaction',
  'read_receipt',
  'room_updated',
  'system',
]);

export interface SendOptions {
  message_type?: 'text' | 'image' | 'file' | 'sticker';
  attachment_url?: string;
  /** An upload of this room (POST /api/messages/{room_id}/attachments) to send as an image or file. */
  attachment_id?: string;
  reply_to?: string;
  /** Set to resend a message the app already tried (else a fresh one is made). */
  temp_id?: string;
}
