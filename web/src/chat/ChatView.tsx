import { useState } from 'react';
import { useSession } from '../session.tsx';
import './chat.css';
import { Composer } from './Composer.tsx';
import { MessageList } from './MessageList.tsx';
import { type ChatMessage, memberName, roomName } from './model.ts';
import { RoomSettings } from './RoomSettings.tsx';
import { useReadReceipts } from './useReadReceipts.ts';
import { useRoom } from './useRoom.ts';
import { useRoomMessages } from './useRoomMessages.ts';
import { useTyping } from './useTyping.ts';

export interface ChatViewProps {
  roomId: number;
  /** Called after the user leaves or deletes the room (the shell then shows no room). */
  onClosed(): void;
}

/** The open room: messages, composer, members and (for groups) the settings panel. */
export function ChatView({ roomId, onClosed }: ChatViewProps) {
  // A fresh instance per room: no state of one room leaks into the next.
  return <RoomView key={roomId} roomId={roomId} onClosed={onClosed} />;
}

function RoomView({ roomId, onClosed }: ChatViewProps) {
  const { me } = useSession();
  const { room, setRoom, gone, reload } = useRoom(roomId);
  // Before the messages hook: its clean-up (my typing stops) runs before the room is left.
  const typing = useTyping(roomId);
  const messages = useRoomMessages(roomId);
  const receipts = useReadReceipts(roomId, messages.messages);
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);

  if (gone) {
    return (
      <section className="chat" aria-label="채팅">
        <p className="chat-empty">이 방에 참여하고 있지 않거나 방이 삭제되었습니다.</p>
        <button type="button" onClick={onClosed}>
          닫기
        </button>
      </section>
    );
  }

  const name = room ? roomName(room, me.id) : '';
  const nameOf = (userId: number): string => {
    const member = room?.members.find((candidate) => candidate.user_id === userId);
    if (member) return memberName(member);
    return userId === me.id ? me.display_name || me.username : '(나간 사용자)';
  };
  const typingNames = typing.typingUserIds.map(nameOf);

  return (
    <section className="chat" aria-label={`채팅: ${name}`}>
      <header className="chat-header">
        <h2>{name || '불러오는 중…'}</h2>
        {room?.type === 'group' && <span className="chat-muted">멤버 {room.members.length}명</span>}
        {room?.type === 'group' && (
          <button type="button" className="chat-header-button" aria-expanded={settingsOpen} onClick={() => setSettingsOpen((open) => !open)}>
            방 설정
          </button>
        )}
      </header>
      {settingsOpen && room && (
        <RoomSettings room={room} onRoomChanged={setRoom} onReload={reload} onClose={() => setSettingsOpen(false)} onLeft={onClosed} />
      )}
      <MessageList
        roomType={room?.type ?? 'direct'}
        state={messages}
        nameOf={nameOf}
        readCount={receipts.readCount}
        onReply={setReplyTo}
      />
      <p role="status" className="chat-typing" aria-live="polite">
        {typingNames.length > 0 ? `${typingNames.join(', ')} 님이 입력 중…` : ''}
      </p>
      <Composer
        replyTo={replyTo}
        replyName={replyTo ? nameOf(replyTo.user_id) : ''}
        onCancelReply={() => setReplyTo(null)}
        onSend={(content, file) => {
          messages.send(content, { replyTo: replyTo?.id ?? null, ...(file ? { file } : {}) });
          setReplyTo(null);
          typing.stopTyping();
        }}
        onKeystroke={typing.keystroke}
      />
    </section>
  );
}
