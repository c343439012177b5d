import type { MessageView } from './room-message.schemas.ts';

/** One member's view of one room, for last messages and unread counts. */
export interface RoomActivityQuery {
  roomId: number;
  userId: number;
  /** Everything up to and including this `seq` is read (0: nothing). */
  lastReadSeq: number;
  /**
   * The message the pointer names. Only for pointers stored before `seq` existed (their
   * lastReadSeq is 0) by a store whose ids the migration could not resolve (MongoDB).
   */
  lastReadMessageId: string | null;
  /** Messages older than this (e.g. before the member joined) never count as unread. */
  since: Date;
}

export interface RoomActivity {
  lastMessage: MessageView | null;
  unreadCount: number;
}

/**
 * What rooms need from the messages module, registered by it (rooms never imports messages):
 * last messages and unread counts for room views, and clean-up when a room is deleted.
 */
export interface RoomMessages {
  /** Last message and unread count of many rooms in one batched call. */
  summarize(queries: readonly RoomActivityQuery[]): Promise<Map<number, RoomActivity>>;
  /**
   * Resolves once the activity times (`rooms.last_message_at`) of the messages this process
   * stored so far are written: they are written after each send is answered. Never rejects.
   */
  settleActivity(): Promise<void>;
  /** Called after a room is deleted: its messages and caches go. */
  purgeRoom(roomId: number): Promise<void>;
}
