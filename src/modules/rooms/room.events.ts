import type { SharedRoomView } from './room.view.ts';

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
 * `room_changed` carries the room as all members see it alike (no per-viewer
 * last_message/unread_count; null once deleted) and `member_ids`: the users the change is about
 * (who joined, left, was added or removed, changed role; everyone who was in a deleted room).
 */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    room_changed: {
      room_id: number;
      change: RoomChange;
      actor_id: number;
      member_ids: number[];
      room: SharedRoomView | null;
    };
  }
}
