import type { FastifyBaseLogger } from 'fastify';
import type { DomainEvent, DomainEventOf } from '../../lib/domain-events.ts';
import { invalidBeforeCursor } from '../../lib/cursor.ts';
import { badRequest, conflict, forbidden, notFound } from '../../lib/errors.ts';
import { RawJson } from '../../lib/raw-json.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { RoomActivity, RoomActivityQuery, RoomMessages } from '../rooms/room-activity.ts';
import type { CurrentMembership, RoomService } from '../rooms/room.service.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import type { AttachmentClaim, AttachmentService } from '../attachments/attachment.service.ts';
import { isAcceptedAttachmentUrl } from './attachment-url.ts';
import { MessageAttachments, ROOM_GRANT, userGrant } from './message-attachments.ts';
import { type HistoryView, MAX_TEXT_LENGTH, type MessageView, type ReadStateView } from './message.schemas.ts';
import type { UnsignedMessageView } from './message.view.ts';
import { RECENT_CACHE_SIZE, type RecentMessagesCache } from './recent-messages.cache.ts';
import { GroupCommit } from './group-commit.ts';
import { RoomActivityWriter } from './room-activity.writer.ts';
import {
  cursorFor,
  InvalidCursorError,
  type MessageStore,
  type MessageType,
  type NewMessage,
  parseCursor,
  type ReactionKind,
  type StoredMessage,
} from './store/message-store.ts';

export interface SendInput {
  content?: string | null | undefined;
  message_type?: MessageType | undefined;
  attachment_url?: string | null | undefined;
  /** An upload of mine into this room (POST /api/messages/:room_id/attachments), for image and file messages. */
  attachment_id?: string | null | undefined;
  reply_to?: string | null | undefined;
  client_message_id?: string | null | undefined;
}

export interface SendResult {
  message: MessageView;
  /** false when client_message_id repeated an earlier send: `message` is that first one. */
  created: boolean;
}

export interface HistoryRequest {
  before?: string | undefined;
  limit: number;
}

const invalid = (field: string, message: string) => badRequest(message, [{ location: 'body', field, message }]);

/** The `seq` a history request's `before` cursor names (400 for one this server did not issue). */
function beforeSeqOf(before: string | undefined): number | undefined {
  if (before === undefined) return undefined;
  try {
    return parseCursor(before);
  } catch (error) {
    if (error instanceof InvalidCursorError) throw invalidBeforeCursor();
    throw error;
  }
}

/** Trimmed content, at most 4000 characters (code points, so emoji count once). */
function cleanContent(content: string | null | undefined): string | null {
  const trimmed = content?.trim() ?? '';
  if ([...trimmed].length > MAX_TEXT_LENGTH) throw invalid('content', `content may be at most ${MAX_TEXT_LENGTH} characters`);
  return trimmed === '' ? null : trimmed;
}

interface ValidSend {
  messageType: MessageType;
  content: string | null;
  attachmentUrl: string | null;
  attachmentId: string | null;
}

/** An uploaded attachment goes with an image or file message, and brings its own url. */
function checkAttachmentId(messageType: MessageType, attachmentId: string | null, attachmentUrl: string | null): void {
  if (attachmentId === null) return;
  if (messageType !== 'image' && messageType !== 'file') throw invalid('attachment_id', 'attachment_id is for image and file messages');
  if (attachmentUrl !== null) throw invalid('attachment_url', 'Give attachment_id or attachment_url, not both: the attachment brings its own url');
}

/** What each message type needs: text has content, image/file an attachment, sticker either. */
function validateSend(input: SendInput): ValidSend {
  const messageType = input.message_type ?? 'text';
  const content = cleanContent(input.content);
  const attachmentUrl = input.attachment_url?.trim() || null;
  const attachmentId = input.attachment_id ?? null;
  if (attachmentUrl !== null && !isAcceptedAttachmentUrl(attachmentUrl)) {
    throw invalid('attachment_url', "attachment_url must be an https: URL or one of this server's own /uploads/ or /api/attachments/ URLs");
  }
  checkAttachmentId(messageType, attachmentId, attachmentUrl);
  switch (messageType) {
    case 'system':
      throw invalid('message_type', 'System messages are sent by the server only');
    case 'text':
      if (content === null) throw invalid('content', `content is required: 1-${MAX_TEXT_LENGTH} characters`);
      break;
    case 'image':
    case 'file':
      if (attachmentUrl === null && attachmentId === null) {
        throw invalid('attachment_id', `attachment_id (an upload) or attachment_url is required for ${messageType} messages`);
      }
      break;
    case 'sticker':
      if (content === null && attachmentUrl === null) throw invalid('content', 'A sticker needs content or attachment_url');
      break;
  }
  return { messageType, content, attachmentUrl, attachmentId };
}

/**
 * Messages: sending (idempotent on client_message_id), history with opaque cursors and the
 * Redis first page, edits, deletions, reactions, read pointers and search. REST and WebSocket
 * both go through here; every change is published as a domain event. It also gives rooms their
 * last messages, unread counts and clean-up (`RoomMessages`).
 */
export class MessageService implements RoomMessages {
  private readonly activity: RoomActivityWriter;
  private readonly views: MessageAttachments;
  /** Concurrent sends, of one room or several, are stored by one transaction (see GroupCommit). */
  private readonly commits: GroupCommit;

  constructor(
    private readonly store: MessageStore,
    private readonly rooms: RoomService,
    private readonly relationships: RelationshipService,
    private readonly cache: RecentMessagesCache,
    private readonly events: EventBus,
    private readonly log: FastifyBaseLogger,
    private readonly attachments: AttachmentService,
  ) {
    this.activity = new RoomActivityWriter((times) => this.rooms.recordMessageActivity(times), log);
    this.views = new MessageAttachments(attachments);
    this.commits = new GroupCommit((inputs) => this.store.createMany(inputs));
  }

  async send(userId: number, roomId: number, input: SendInput): Promise<SendResult> {
    const access = await this.rooms.cachedMembership(userId, roomId);
    const { messageType, content, attachmentUrl, attachmentId } = validateSend(input);
    await this.ensureNotBlocked(userId, access);
    const replyTo = input.reply_to ?? null;
    if (replyTo !== null && !(await this.store.findById(roomId, replyTo))) {
      throw invalid('reply_to', 'reply_to must be a message of this room');
    }
    const clientMessageId = input.client_message_id ?? null;
    const claim =
      attachmentId !== null && (messageType === 'image' || messageType === 'file')
        ? await this.attachments.claim({ userId, roomId, attachmentId, messageType, clientMessageId })
        : null;
    const { message, created } = await this.createClaiming(
      { roomId, userId, content, messageType, attachmentUrl, attachmentId, replyTo, clientMessageId },
      claim,
    );
    const view = await this.views.one(message, claim?.info);
    // On a repeat too: all three are idempotent, and they repair a first attempt that failed after storing.
    await this.afterStore(userId, view, message.createdAt);
    return { message: this.views.sign(view, userGrant(userId)), created };
  }

  /**
   * Stores the message; a claimed upload is given back when nothing was stored with it, and noted
   * with its message otherwise (a failure to note it is logged: the message is stored, and the
   * upload is safe from the sweep once claimed).
   */
  private async createClaiming(input: NewMessage, claim: AttachmentClaim | null) {
    if (!claim) return this.commits.submit(input);
    const result = await this.commits.submit(input).catch(async (error: unknown) => {
      await this.attachments.release(claim).catch((releaseError: unknown) => {
        this.log.warn({ err: releaseError, attachmentId: claim.info.id }, 'could not give back the claim of a failed send');
      });
      throw error;
    });
    await this.attachments.settle(claim, result.message).catch((error: unknown) => {
      this.log.warn({ err: error, attachmentId: claim.info.id, messageId: result.message.id }, 'could not note the message on its attachment');
    });
    return result;
  }

  /**
   * What follows a stored message, none of which may turn it into a failure for the sender
   * (who would resend it as a duplicate without client_message_id): the room's activity time,
   * the Redis first page and the event. The activity time is only recorded here: it is written
   * after the answer (one UPDATE in flight for all rooms, retried until it succeeds; room lists
   * on this instance wait for it, see RoomActivityWriter). The two Redis calls run at once (they
   * share a round trip, and while Redis is down the sender waits for one failed command, not
   * two in a row); each failure is logged with the user and room. Never rejects.
   */
  private async afterStore(userId: number, view: UnsignedMessageView, createdAt: Date): Promise<void> {
    const context = { userId, roomId: view.room_id, messageId: view.id };
    this.activity.record(view.room_id, createdAt);
    await Promise.all([
      this.cache.push(view).catch((error: unknown) => {
        this.log.warn({ err: error, ...context }, 'recent-messages write-through failed after a message was stored');
        // The list may now lack the message: drop it (not awaited: while Redis is down this
        // fails too, and the list expires within LIST_TTL_S anyway).
        void this.cache.invalidate(view.room_id).catch((invalidateError: unknown) => {
          this.log.warn({ err: invalidateError, ...context }, 'could not drop the recent-messages list; it expires by itself');
        });
      }),
      // Once per message, whichever attempt gets here: a resend after a crash between storing
      // and publishing still reaches the room, and a resend after a normal send is not announced twice.
      this.events.publishAfterCommit({ type: 'message_created', room_id: view.room_id, message: this.views.sign(view, ROOM_GRANT) }, this.log, {
        onceKey: `message_created:${view.id}`,
        context,
      }),
    ]);
  }

  /**
   * History, newest first. The first page (no cursor, limit <= 20) comes from the Redis list
   * as JSON text spliced into the body (`RawJson`); other pages come from the store.
   */
  async history(userId: number, roomId: number, request: HistoryRequest): Promise<HistoryView | RawJson> {
    await this.rooms.cachedMembership(userId, roomId);
    const grant = userGrant(userId);
    if (request.before === undefined && request.limit <= RECENT_CACHE_SIZE) {
      const page = await this.cache.firstPage(roomId, request.limit, async (count) => {
        const fresh = await this.store.page(roomId, { limit: count });
        return { messages: await this.views.unsigned(fresh.messages), hasMore: fresh.hasMore };
      });
      const nextCursor = page.hasMore && page.oldestSeq !== undefined ? cursorFor({ seq: page.oldestSeq }) : null;
      return new RawJson(`{"messages":[${this.views.signJsonList(page.messageJson, grant)}],"next_cursor":${JSON.stringify(nextCursor)},"has_more":${page.hasMore}}`);
    }
    const page = await this.store.page(roomId, { limit: request.limit, beforeSeq: beforeSeqOf(request.before) });
    return { messages: await this.views.signed(page.messages, grant), has_more: page.hasMore, next_cursor: page.nextCursor };
  }

  async edit(userId: number, roomId: number, messageId: string, newContent: string): Promise<MessageView> {
    const access = await this.rooms.currentMembership(userId, roomId);
    const message = await this.requireMessage(roomId, messageId);
    if (message.userId !== userId) throw forbidden('Only the author can edit a message');
    if (message.isDeleted) throw conflict('A deleted message cannot be edited');
    await this.ensureNotBlocked(userId, access);
    const content = cleanContent(newContent);
    if (content === null) throw invalid('content', `content is required: 1-${MAX_TEXT_LENGTH} characters`);
    const edited = await this.store.editContent(roomId, messageId, content, new Date());
    if (!edited) throw conflict('A deleted message cannot be edited');
    const view = await this.views.one(edited);
    await this.afterChange(userId, { type: 'message_updated', room_id: roomId, message: this.views.sign(view, ROOM_GRANT) });
    return this.views.sign(view, userGrant(userId));
  }

  /** Author, or a group owner/admin. Deleting a deleted message again changes nothing. */
  async delete(userId: number, roomId: number, messageId: string): Promise<void> {
    const access = await this.rooms.currentMembership(userId, roomId);
    const message = await this.requireMessage(roomId, messageId);
    if (message.userId !== userId && !access.mayDeleteOthersMessages) {
      throw forbidden('Only the author or a room owner/admin can delete this message');
    }
    if (message.isDeleted) return;
    // The attachment first: once the message is deleted it no longer names it (a failure here is retried with the delete).
    if (message.attachmentId) await this.attachments.delete(message.attachmentId);
    const deleted = await this.store.softDelete(roomId, messageId, new Date());
    if (!deleted) throw notFound(`Message ${messageId} not found`);
    const view = this.views.sign(await this.views.one(deleted), ROOM_GRANT);
    await this.afterChange(userId, { type: 'message_deleted', room_id: roomId, message: view, deleted_by: userId });
  }

  /** Toggles my reaction of that kind. */
  async react(userId: number, roomId: number, messageId: string, reaction: ReactionKind): Promise<MessageView> {
    const access = await this.rooms.currentMembership(userId, roomId);
    const message = await this.requireMessage(roomId, messageId);
    if (message.isDeleted) throw conflict('A deleted message cannot get reactions');
    await this.ensureNotBlocked(userId, access);
    const updated = await this.store.toggleReaction(roomId, messageId, userId, reaction);
    if (!updated) throw notFound(`Message ${messageId} not found`);
    const view = await this.views.one(updated);
    await this.afterChange(userId, {
      type: 'reaction_changed',
      room_id: roomId,
      message: this.views.sign(view, ROOM_GRANT),
      user_id: userId,
      reaction,
      added: updated.reactions[reaction]?.includes(userId) ?? false,
    });
    return this.views.sign(view, userGrant(userId));
  }

  /** Everything up to `messageId` is read by me; the pointer never moves backwards. */
  async markRead(userId: number, roomId: number, messageId: string): Promise<ReadStateView> {
    const access = await this.rooms.currentMembership(userId, roomId);
    const target = await this.requireMessage(roomId, messageId);
    const at = new Date();
    const moved = await this.rooms.advanceReadPointer(roomId, userId, target, at);
    const state = moved ? { lastReadMessageId: target.id, lastReadSeq: target.seq, lastReadAt: at } : await this.rooms.readState(roomId, userId);
    if (!state) throw forbidden(`You are not a member of room ${roomId}`);
    const summary = await this.store.summarize([{ roomId, userId, ...state, since: access.joinedAt }]);
    const readAt = state.lastReadAt?.toISOString() ?? null;
    if (moved && readAt) {
      await this.publish({ type: 'read_updated', room_id: roomId, user_id: userId, message_id: target.id, read_at: readAt });
    }
    return {
      room_id: roomId,
      user_id: userId,
      last_read_message_id: state.lastReadMessageId,
      read_at: readAt,
      unread_count: summary.get(roomId)?.unreadCount ?? 0,
    };
  }

  async search(userId: number, roomId: number, text: string, limit: number): Promise<MessageView[]> {
    await this.rooms.cachedMembership(userId, roomId);
    return this.views.signed(await this.store.search(roomId, text, limit), userGrant(userId));
  }

  /** Resolves once the activity times of the messages this process stored so far are written (see RoomActivityWriter.settled). */
  settleActivity(): Promise<void> {
    return this.activity.settled();
  }

  /** At shutdown: the activity times still waiting get one last write. */
  close(): Promise<void> {
    return this.activity.close();
  }

  /** A deleted room's messages, attachments (rows and files) and cache. */
  async purgeRoom(roomId: number): Promise<void> {
    await Promise.all([this.store.deleteRoom(roomId), this.cache.drop(roomId), this.attachments.deleteRoom(roomId)]);
  }

  /**
   * Last message (as the API shows it to each query's user) and unread count of many rooms:
   * one batched store call, and one attachments query for all the last messages.
   */
  async summarize(queries: readonly RoomActivityQuery[]): Promise<Map<number, RoomActivity>> {
    const summaries = await this.store.summarize(queries);
    const lastMessages = [...summaries.values()].flatMap((summary) => (summary.lastMessage ? [summary.lastMessage] : []));
    const views = new Map((await this.views.unsigned(lastMessages)).map((view) => [view.id, view]));
    const readers = new Map(queries.map((query) => [query.roomId, query.userId]));
    const activity = new Map<number, RoomActivity>();
    for (const [roomId, summary] of summaries) {
      const view = summary.lastMessage ? views.get(summary.lastMessage.id) : undefined;
      const reader = readers.get(roomId);
      const lastMessage = view && reader !== undefined ? this.views.sign(view, userGrant(reader)) : null;
      activity.set(roomId, { lastMessage, unreadCount: summary.unreadCount });
    }
    return activity;
  }

  /** Which store holds messages, and a cheap round trip to it, for the health checks. */
  get storeKind(): string {
    return this.store.kind;
  }

  pingStore(): Promise<void> {
    return this.store.ping();
  }

  private async requireMessage(roomId: number, messageId: string): Promise<StoredMessage> {
    const message = await this.store.findById(roomId, messageId);
    if (!message) throw notFound(`Message ${messageId} not found`);
    return message;
  }

  /** In a direct room, a block either way stops new content from either side. */
  private async ensureNotBlocked(userId: number, access: Pick<CurrentMembership, 'type' | 'peerId'>): Promise<void> {
    if (access.type !== 'direct' || access.peerId === null) return;
    if (await this.relationships.isBlockedEitherWay(userId, access.peerId)) {
      throw forbidden('You cannot message this user');
    }
  }

  private publish(event: DomainEvent): Promise<void> {
    return this.events.publishAfterCommit(event, this.log);
  }

  /**
   * After an edit, deletion or reaction is stored: drop the room's cached first page and
   * publish, and answer success whatever fails here (a toggle reported failed would be retried
   * and undo itself). A list Redis would not let us drop expires within LIST_TTL_S.
   */
  private async afterChange(userId: number, event: DomainEventOf<'message_updated' | 'message_deleted' | 'reaction_changed'>): Promise<void> {
    const context = { userId, roomId: event.room_id, messageId: event.message.id };
    // At once: a reader who sees the event before the list is dropped may get the older copy
    // from Redis, and keeps the event's (its version is higher).
    await Promise.all([
      this.cache.invalidate(event.room_id).catch((error: unknown) => {
        this.log.warn({ err: error, ...context, eventType: event.type }, 'could not drop the recent-messages list after a change');
      }),
      this.events.publishAfterCommit(event, this.log.child(context)),
    ]);
  }
}
