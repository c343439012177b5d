import type { Attachment, Message, Reaction, Schema } from '@bigtech/chat-client';

export type Room = Schema<'Room'>;
export type RoomMember = Schema<'RoomMember'>;
export type RestMessage = Schema<'Message'>;

/** One message as the views keep it: the same shape whether it came over REST or a frame. */
export interface ChatMessage {
  id: string;
  room_id: number;
  seq: number;
  user_id: number;
  content: string | null;
  message_type: RestMessage['message_type'];
  attachment: Attachment | null;
  attachment_url: string | null;
  reply_to: string | null;
  is_edited: boolean;
  is_deleted: boolean;
  version: number;
  reactions: Partial<Record<Reaction, number[]>>;
  created_at: string;
  client_message_id: string | null;
}

export const REACTIONS: readonly { kind: Reaction; label: string; emoji: string }[] = [
  { kind: 'like', label: '좋아요', emoji: '👍' },
  { kind: 'love', label: '사랑해요', emoji: '❤️' },
  { kind: 'laugh', label: '웃겨요', emoji: '😂' },
  { kind: 'sad', label: '슬퍼요', emoji: '😢' },
  { kind: 'angry', label: '화나요', emoji: '😠' },
];

export function toChatMessage(message: Message | RestMessage): ChatMessage {
  const reactions: Partial<Record<Reaction, number[]>> = {};
  const source: Record<string, number[] | undefined> = message.reactions;
  for (const { kind } of REACTIONS) {
    const users = source[kind];
    if (users && users.length > 0) reactions[kind] = users;
  }
  return {
    id: message.id,
    room_id: message.room_id,
    seq: message.seq,
    user_id: message.user_id,
    content: message.content,
    message_type: message.message_type,
    attachment: message.attachment ?? null,
    attachment_url: message.attachment_url,
    reply_to: message.reply_to,
    is_edited: message.is_edited,
    is_deleted: message.is_deleted,
    version: message.version,
    reactions,
    created_at: message.created_at,
    client_message_id: message.client_message_id,
  };
}

export function memberName(member: RoomMember): string {
  return member.nickname || member.display_name || member.username;
}

/** A group's name, or the other member's name in a direct room. */
export function roomName(room: Pick<Room, 'type' | 'name' | 'members'>, meId: number): string {
  if (room.type === 'group') return room.name || '이름 없는 그룹';
  const other = room.members.find((member) => member.user_id !== meId);
  return other ? memberName(other) : room.name || '대화방';
}

export function messagePreview(message: ChatMessage | RestMessage | null): string {
  if (!message) return '아직 메시지가 없습니다';
  if (message.is_deleted) return '삭제된 메시지';
  if (message.message_type === 'image') return '사진';
  if (message.message_type === 'file') return `파일: ${message.attachment?.name ?? ''}`.trim();
  return message.content ?? '';
}

const timeFormat = new Intl.DateTimeFormat('ko-KR', { hour: 'numeric', minute: '2-digit' });

const dayFormat = new Intl.DateTimeFormat('ko-KR', { year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' });

export function formatDay(iso: string): string {
  return dayFormat.format(new Date(iso));
}

export function formatTime(iso: string): string {
  return timeFormat.format(new Date(iso));
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * In place of an answer when the request got none (network down, server restarting), so call
 * sites handle it like any refusal: `await api.POST(...).catch(offline)`.
 */
export function offline() {
  return {
    data: undefined,
    error: { error: 'network_error', message: '서버에 연결할 수 없습니다. 잠시 후 다시 시도하세요.' },
    response: new Response(null, { status: 503 }),
  } as const;
}
