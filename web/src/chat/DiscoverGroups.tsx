import type { Schema } from '@bigtech/chat-client';
import { useEffect, useState } from 'react';
import { useSession } from '../session.tsx';
import { describe } from './errors.ts';
import { offline } from './model.ts';

type Room = Schema<'Room'>;

/** Public groups I am not in, each with a join button. */
export function DiscoverGroups({ onJoined }: { onJoined(roomId: number): void }) {
  const { api } = useSession();
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    void api
      .GET('/api/group-rooms', { params: { query: { discover: 'true', limit: 50 } } })
      .catch(offline)
      .then(({ data, error: failure }) => {
      if (!live) return;
      if (data) setRooms(data);
      else setError(describe(failure, '공개 그룹을 불러오지 못했습니다'));
    });
    return () => {
      live = false;
    };
  }, [api]);

  async function join(roomId: number) {
    const { response, error: failure } = await api.POST('/api/group-rooms/{room_id}/join', { params: { path: { room_id: roomId } } }).catch(offline);
    if (response.ok) onJoined(roomId);
    else setError(describe(failure, '참여하지 못했습니다'));
  }

  return (
    <section className="chat-form" aria-label="공개 그룹">
      {error && (
        <p role="alert" className="chat-error">
          {error}
        </p>
      )}
      {rooms === null && !error && <p className="chat-muted">불러오는 중…</p>}
      {rooms?.length === 0 && <p className="chat-muted">참여할 수 있는 공개 그룹이 없습니다</p>}
      <ul className="chat-discover">
        {rooms?.map((room) => (
          <li key={room.id}>
            <span>
              {room.name} <span className="chat-muted">· {room.members.length}명</span>
            </span>
            <button type="button" aria-label={`${room.name ?? ''} 참여`} onClick={() => void join(room.id)}>
              참여
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
