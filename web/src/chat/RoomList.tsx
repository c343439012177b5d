import { useState } from 'react';
import { useNavigation } from '../navigation.tsx';
import { useSession } from '../session.tsx';
import './chat.css';
import { DiscoverGroups } from './DiscoverGroups.tsx';
import { formatTime, messagePreview, roomName } from './model.ts';
import { NewGroupForm } from './NewGroupForm.tsx';
import { type RoomEntry, useRooms } from './useRooms.ts';

type Panel = 'none' | 'new' | 'discover';

/** The user's rooms with unread badges, and creating or joining a group. */
export function RoomList() {
  const { me } = useSession();
  const { roomId, openRoom } = useNavigation();
  const { rooms, error, refetch } = useRooms();
  const [panel, setPanel] = useState<Panel>('none');
  const toggle = (next: Panel) => setPanel((current) => (current === next ? 'none' : next));

  return (
    <nav className="chat-rooms" aria-label="채팅방 목록">
      <div className="chat-rooms-actions">
        <button type="button" className="compact" aria-expanded={panel === 'new'} onClick={() => toggle('new')}>
          새 그룹
        </button>
        <button type="button" className="compact" aria-expanded={panel === 'discover'} onClick={() => toggle('discover')}>
          공개 그룹 찾기
        </button>
      </div>
      {panel === 'new' && (
        <NewGroupForm
          onCreated={(id) => {
            setPanel('none');
            void refetch();
            openRoom(id);
          }}
          onCancel={() => setPanel('none')}
        />
      )}
      {panel === 'discover' && (
        <DiscoverGroups
          onJoined={(id) => {
            setPanel('none');
            void refetch();
            openRoom(id);
          }}
        />
      )}
      {error && (
        <p role="alert" className="chat-error">
          {error}
        </p>
      )}
      {rooms === null && !error && <p className="chat-muted">불러오는 중…</p>}
      {rooms?.length === 0 && <p className="chat-muted">아직 채팅방이 없습니다. 친구와 대화를 시작하거나 그룹을 만들어 보세요.</p>}
      <ul className="chat-room-items">
        {rooms?.map((room) => (
          <li key={room.id}>
            <RoomButton room={room} name={roomName(room, me.id)} current={room.id === roomId} onOpen={() => openRoom(room.id)} />
          </li>
        ))}
      </ul>
    </nav>
  );
}

function RoomButton({ room, name, current, onOpen }: { room: RoomEntry; name: string; current: boolean; onOpen(): void }) {
  const unread = current ? 0 : room.unread_count;
  return (
    <button type="button" className={`chat-room${current ? ' current' : ''}`} data-room-id={room.id} aria-current={current ? 'true' : undefined} onClick={onOpen}>
      <span className="chat-room-line">
        <span className="chat-room-name">{name}</span>
        {room.type === 'group' && <span className="chat-muted chat-room-count"> {room.members.length}명</span>}
        {room.last_message && ' '}
        {room.last_message && <time className="chat-muted chat-room-time">{formatTime(room.last_message.created_at)}</time>}
      </span>
      <span className="chat-room-line">
        <span className="chat-room-preview"> {messagePreview(room.last_message)}</span>
        {unread > 0 && ' '}
        {unread > 0 && (
          <span className="chat-badge" aria-label={`읽지 않은 메시지 ${unread}개`}>
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </span>
    </button>
  );
}
