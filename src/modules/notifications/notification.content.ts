import type { MessageType, MessageView } from '../rooms/room-message.schemas.ts';

/** `preview` holds the first this many characters (code points, so an emoji is not cut in half). */
export const PREVIEW_LENGTH = 100;

/** Previews of messages whose content is not text to show. */
const LABELS: Partial<Record<MessageType, string>> = { image: '사진', file: '파일', sticker: '스티커' };

export function previewOf(message: Pick<MessageView, 'content' | 'message_type'>): string | null {
  const label = LABELS[message.message_type] ?? null;
  if (message.message_type === 'image' || message.message_type === 'file') return label;
  const text = message.content?.trim() ?? '';
  return text === '' ? label : [...text].slice(0, PREVIEW_LENGTH).join('');
}

/** `@name` as a word of its own: not inside an e-mail address or a longer name. */
const MENTION = /(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{3,50})(?![A-Za-z0-9_])/g;

/** The usernames a text names as `@username`, lower-cased (usernames are unique regardless of case). */
export function mentionedUsernames(content: string | null): Set<string> {
  return new Set([...(content ?? '').matchAll(MENTION)].map((match) => (match[1] ?? '').toLowerCase()));
}
