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

/** A room member as the rules need them (see RoomService.memberSettings). */
export interface Recipient {
  userId: number;
  username: string;
  muted: boolean;
}

export interface MessageContext {
  /** True when the two users are blocked either way. */
  isBlocked: (a: number, b: number) => boolean;
  /** Members with a socket joined to the room. */
  connected: ReadonlySet<number>;
}

export interface MessagePlan {
  /** One `mention` per member a message names. */
  mentions: { userId: number; message: MessageView }[];
  /** Per member: how many of the messages count in their room's `message` notification, and the newest of them. */
  counted: { userId: number; count: number; newest: MessageView }[];
}

/**
 * What some messages of one room raise, by the contract's rules: nothing for the sender or
 * between users blocked either way; a `mention` for each member named as `@username` (muted
 * or connected, they are still told: they were called); otherwise a count in the `message`
 * notification of each member who has not muted the room and has no socket joined to it. A
 * mentioned member's mention stands for that message: it is not counted again.
 */
export function planMessageNotifications(messages: readonly MessageView[], members: readonly Recipient[], context: MessageContext): MessagePlan {
  const mentions: MessagePlan['mentions'] = [];
  const counted = new Map<number, { count: number; newest: MessageView }>();
  const names = members.map((member) => member.username.toLowerCase());
  for (const message of messages) {
    const named = mentionedUsernames(message.content);
    for (const [i, member] of members.entries()) {
      if (member.userId === message.user_id || context.isBlocked(message.user_id, member.userId)) continue;
      if (named.size > 0 && named.has(names[i]!)) {
        mentions.push({ userId: member.userId, message });
      } else if (!member.muted && !context.connected.has(member.userId)) {
        const entry = counted.get(member.userId);
        counted.set(member.userId, { count: (entry?.count ?? 0) + 1, newest: entry && entry.newest.seq > message.seq ? entry.newest : message });
      }
    }
  }
  return { mentions, counted: [...counted].map(([userId, entry]) => ({ userId, ...entry })) };
}
