export type MessageStoreKind = 'mysql' | 'mongodb';

import { MESSAGE_TYPES, type MessageType, REACTION_KINDS, type ReactionKind } from '../../rooms/room-message.schemas.ts';
import type { RoomActivityQuery } from '../../rooms/room-activity.ts';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../../lib/cursor.ts';

export { MESSAGE_TYPES, type MessageType, REACTION_KINDS, type ReactionKind };
export { decodeCursor, encodeCursor, InvalidCursorError };

/** Key of a send's idempotency: room, sender and client_message_id (undefined without one). */
export function dedupeKeyOf(input: Pick<NewMessage, 'roomId' | 'userId' | 'clientMessageId'>): string | undefined {
  return input.clientMessageId === null ? undefined : `${input.roomId}:${input.userId}:${input.clientMessageId}`;
}

/**
 * Splits a batch into the sends to store (the first of each dedupe key) and, for every input,
 * the index of the send whose outcome it shares (itself for a first one).
 */
export function firstOfEachKey(inputs: readonly NewMessage[]): { firsts: number[]; sharedWith: number[] } {
  const seen = new Map<string, number>();
  const firsts: number[] = [];
  const sharedWith = inputs.map((input, i) => {
    const key = dedupeKeyOf(input);
    const earlier = key === undefined ? undefined : seen.get(key);
    if (earlier !== undefined) return earlier;
    if (key !== undefined) seen.set(key, i);
    firsts.push(i);
    return i;
  });
  return { firsts, sharedWith };
}

/** The outcome of a repeat inside a batch: the first send's message, not created again. */
export function repeatOutcome(first: BatchOutcome): BatchOutcome {
  return first.ok ? { ok: true, result: { message: first.result.message, created: false } } : first;
}

/** Users per reaction kind; kinds nobody chose are absent, user ids ascending. */
export type Reactions = Partial<Record<ReactionKind, number[]>>;

/** A message as both stores hold it. `id` is opaque outside the store that issued it. */
export interface StoredMessage {
  id: string;
  roomId: number;
  /** Position in the room: 1, 2, 3, ... in the order sends were stored, whichever instance sent. */
  seq: number;
  userId: number;
  content: string | null;
  messageType: MessageType;
  attachmentUrl: string | null;
  /** The uploaded attachment it sends (the attachments module's id); null once deleted. */
  attachmentId: string | null;
  replyTo: string | null;
  clientMessageId: string | null;
  isEdited: boolean;
  editedAt: Date | null;
  isDeleted: boolean;
  reactions: Reactions;
  createdAt: Date;
  /**
   * `createdAt` and `editedAt` as the API writes them (ISO 8601, UTC), when the store read them
   * as text (MySQL history pages and last messages): views take these instead of calling
   * `toISOString` per message.
   */
  times?: { createdAt: string; editedAt: string | null };
  /**
   * 1 when created; every edit, deletion and reaction toggle adds exactly 1, atomically with
   * the change, so two changes never share a version and the higher one is the newer state.
   */
  version: number;
}

export interface NewMessage {
  roomId: number;
  userId: number;
  content: string | null;
  messageType: MessageType;
  attachmentUrl: string | null;
  /** Unset: none. */
  attachmentId?: string | null | undefined;
  replyTo: string | null;
  clientMessageId: string | null;
}

export interface CreateResult {
  message: StoredMessage;
  /** false when (room, sender, client_message_id) already existed: `message` is that first one. */
  created: boolean;
}

/** One message's outcome in a batch: its result, or the error that message alone met. */
export type BatchOutcome = { ok: true; result: CreateResult } | { ok: false; error: unknown };

export interface PageRequest {
  /** Only messages below this `seq` (from a cursor, see `parseCursor`). */
  beforeSeq?: number | undefined;
  limit: number;
}

export interface MessagePage {
  /** Newest first. */
  messages: StoredMessage[];
  /** Cursor of the oldest message returned, when older ones exist. */
  nextCursor: string | null;
  hasMore: boolean;
}

/** One member's view of one room, for last messages and unread counts (the rooms module asks). */
export type RoomSummaryQuery = RoomActivityQuery;

export interface RoomSummary {
  lastMessage: StoredMessage | null;
  unreadCount: number;
}

/** A page from `limit + 1` rows, newest first: the extra row only says that more exist. */
export function toMessagePage(rows: StoredMessage[], limit: number): MessagePage {
  const hasMore = rows.length > limit;
  const messages = rows.slice(0, limit);
  const last = messages.at(-1);
  return { messages, hasMore, nextCursor: hasMore && last ? cursorFor(last) : null };
}

/** Fixed width, so comparing two keys as strings compares the messages' positions. */
export function sortKey(message: Pick<StoredMessage, 'seq'>): string {
  return String(message.seq).padStart(16, '0');
}

/** The `before` cursor that continues a page right after this message (same in both stores). */
export function cursorFor(message: Pick<StoredMessage, 'seq'>): string {
  return encodeCursor({ s: message.seq });
}

/** The `seq` a `before` cursor names; InvalidCursorError for anything this server did not issue. */
export function parseCursor(cursor: string): number {
  const position = decodeCursor(cursor);
  const seq = position.s;
  if (Object.keys(position).length !== 1 || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new InvalidCursorError();
  }
  return seq;
}

/** Escapes a user's text for use inside a regular expression (MongoDB) as a literal. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Reactions in a stable shape: kinds in contract order, user ids ascending, empty kinds dropped. */
export function normalizeReactions(pairs: Iterable<{ userId: number; reaction: ReactionKind }>): Reactions {
  const byKind = new Map<ReactionKind, Set<number>>();
  for (const { userId, reaction } of pairs) {
    const users = byKind.get(reaction) ?? new Set<number>();
    users.add(userId);
    byKind.set(reaction, users);
  }
  const reactions: Reactions = {};
  for (const kind of REACTION_KINDS) {
    const users = byKind.get(kind);
    if (users && users.size > 0) reactions[kind] = [...users].sort((a, b) => a - b);
  }
  return reactions;
}

/**
 * Where messages live. Two adapters implement it: MongoDB (when MONGODB_URL is set) and MySQL
 * through Prisma. test/messages/message-store.contract.ts runs the same suite against both.
 *
 * Order: every message has its room's next `seq`, given out atomically by the store; history
 * is newest `seq` first, and "after a message" means a greater `seq`.
 */
export interface MessageStore {
  readonly kind: MessageStoreKind;
  /** Prepares the store (indexes); called once at start-up. */
  init(): Promise<void>;
  /** Cheap round trip used by the health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Whether `id` could be an id of this store (anything else is simply not found). */
  isValidId(id: string): boolean;

  /** Idempotent on (room, sender, clientMessageId) when clientMessageId is set, even under concurrency. */
  create(input: NewMessage): Promise<CreateResult>;
  /**
   * Group commit: messages (of one room or several) stored together, outcomes in input order.
   * Each room's new ones get consecutive `seq` in input order; a repeated (room, sender,
   * client_message_id), within the batch or of a message stored earlier, gives that first
   * message (created: false) and takes no `seq`; a message that fails on its own fails alone,
   * never the others.
   */
  createMany(inputs: readonly NewMessage[]): Promise<BatchOutcome[]>;
  /** The message, or null when unknown, malformed or in another room. */
  findById(roomId: number, id: string): Promise<StoredMessage | null>;
  /** Newest first. */
  page(roomId: number, request: PageRequest): Promise<MessagePage>;
  /**
   * Each change below returns the message exactly as that change left it, with the version
   * it gave it (not a later state read back after a concurrent change).
   */
  /** Replaces the content of a live message; null when it is unknown or deleted. */
  editContent(roomId: number, id: string, content: string, at: Date): Promise<StoredMessage | null>;
  /**
   * Marks the message deleted (content, attachment_url and attachment id cleared); returns it, null when unknown.
   * A message already deleted is returned as it is (its version unchanged).
   */
  softDelete(roomId: number, id: string, at: Date): Promise<StoredMessage | null>;
  /** Adds the user's reaction of that kind, or removes it when present; null when unknown. Safe under concurrency. */
  toggleReaction(roomId: number, id: string, userId: number, reaction: ReactionKind): Promise<StoredMessage | null>;
  /** Case-insensitive substring match on content in one room, newest first; deleted messages never match. */
  search(roomId: number, text: string, limit: number): Promise<StoredMessage[]>;
  /** Last message and unread count of many rooms in one batched call. */
  summarize(queries: readonly RoomSummaryQuery[]): Promise<Map<number, RoomSummary>>;
  /** Removes every message of a room (the room was deleted). */
  deleteRoom(roomId: number): Promise<void>;
}
