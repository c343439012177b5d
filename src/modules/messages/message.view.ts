import type { MessageView } from './message.schemas.ts';
import type { StoredMessage } from './store/message-store.ts';

export function toMessageView(message: StoredMessage): MessageView {
  return {
    id: message.id,
    room_id: message.roomId,
    seq: message.seq,
    user_id: message.userId,
    content: message.content,
    message_type: message.messageType,
    attachment_url: message.attachmentUrl,
    reply_to: message.replyTo,
    is_edited: message.isEdited,
    edited_at: message.editedAt?.toISOString() ?? null,
    is_deleted: message.isDeleted,
    reactions: message.reactions,
    created_at: message.createdAt.toISOString(),
    client_message_id: message.clientMessageId,
    version: message.version,
  };
}
