import type { MessageView } from '../modules/messages/message.schemas.ts';
import type { ReactionKind } from '../modules/messages/store/message-store.ts';
import type { SharedRoomView } from '../modules/rooms/room.view.ts';

/** What happened to a room, for `room_changed`. */
export type RoomChange =
  | 'created'
  | 'updated'
  | 'member_joined'
  | 'member_added'
  | 'member_left'
  | 'member_removed'
  | 'role_changed'
  | 'nickname_changed'
  | 'deleted';

/**
 * Domain events: every state change other features (SSE presence, WebSocket fan-out) react to.
 * They travel through Redis pub/sub (src/plugins/events.ts), so every instance sees every event.
 * Add new variants here; `type` is the discriminant.
 *
 * Message events carry the message exactly as the REST API returns it. `room_changed` carries
 * the room as all members see it alike (no per-viewer last_message/unread_count; null once
 * deleted) and `member_ids`: the users the change is about (who joined, left, was added or
 * removed, changed role; everyone who was in a deleted room).
 */
export type DomainEvent =
  | { type: 'friendship_changed'; user_ids: [number, number]; status: 'accepted' | 'ended' }
  | { type: 'block_changed'; blocker_id: number; blocked_id: number; blocked: boolean }
  | { type: 'message_created'; room_id: number; message: MessageView }
  | { type: 'message_updated'; room_id: number; message: MessageView }
  | { type: 'message_deleted'; room_id: number; message: MessageView; deleted_by: number }
  | { type: 'reaction_changed'; room_id: number; message: MessageView; user_id: number; reaction: ReactionKind; added: boolean }
  | { type: 'read_updated'; room_id: number; user_id: number; message_id: string; read_at: string }
  | {
      type: 'room_changed';
      room_id: number;
      change: RoomChange;
      actor_id: number;
      member_ids: number[];
      room: SharedRoomView | null;
    }
  | RealtimeEvent;

/** Signals of live WebSocket rooms and sessions (no stored state behind them). */
export type RealtimeEvent =
  | { type: 'typing'; room_id: number; user_id: number; is_typing: boolean }
  | { type: 'room_presence'; room_id: number; user_id: number; event: 'USER_CONNECTED' | 'USER_DISCONNECTED' }
  | { type: 'token_revoked'; jti: string; user_id: number };

export type DomainEventType = DomainEvent['type'];
export type DomainEventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;
