import type { AttachmentInfo, AttachmentView } from '../attachments/attachment.schemas.ts';
import type { MessageView } from './message.schemas.ts';
import type { StoredMessage } from './store/message-store.ts';

/**
 * A message as the recent-messages cache keeps it and as it is built before reaching a reader:
 * its attachment without signed URLs. Signed URLs are per reader (or per room, in events) and
 * expire, so they are added at read time (`signView`), never stored.
 */
export type UnsignedMessageView = Omit<MessageView, 'attachment'> & { attachment: AttachmentInfo | null };

export function toUnsignedView(message: StoredMessage, attachment: AttachmentInfo | null | undefined): UnsignedMessageView {
  return {
    id: message.id,
    room_id: message.roomId,
    seq: message.seq,
    user_id: message.userId,
    content: message.content,
    message_type: message.messageType,
    attachment_url: message.attachmentUrl,
    attachment: attachment ?? null,
    reply_to: message.replyTo,
    is_edited: message.isEdited,
    edited_at: message.times ? message.times.editedAt : (message.editedAt?.toISOString() ?? null),
    is_deleted: message.isDeleted,
    reactions: message.reactions,
    created_at: message.times ? message.times.createdAt : message.createdAt.toISOString(),
    client_message_id: message.clientMessageId,
    version: message.version,
  };
}

const hasNoAttachment = (view: UnsignedMessageView): view is UnsignedMessageView & { attachment: null } => view.attachment === null;

/**
 * The message as one reader gets it: the attachment with URLs signed now, and `attachment_url`
 * its url. Without an attachment that is the view itself, not a copy per message and reader
 * (views are never changed once built).
 */
export function signView(view: UnsignedMessageView, sign: (attachment: AttachmentInfo) => AttachmentView): MessageView {
  if (hasNoAttachment(view)) return view;
  const attachment = view.attachment && sign(view.attachment);
  return { ...view, attachment, attachment_url: attachment?.url ?? view.attachment_url };
}

/** A message without its attachment (for messages known to carry none). */
export function toMessageView(message: StoredMessage): MessageView {
  return { ...toUnsignedView(message, null), attachment: null };
}
