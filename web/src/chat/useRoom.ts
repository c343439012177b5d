import { useCallback, useEffect, useState } from 'react';
import { useSession } from '../session.tsx';
import type { Room } from './model.ts';

/** The room itself (name, members, roles), read again when a `room_updated` frame says it changed. */
export function useRoom(roomId: number) {
  const { api, socket } = useSession();
  const [room, setRoom] = useState<Room | null>(null);
  const [gone, setGone] = useState(false);

  const reload = useCallback(async () => {
    const answer = await api.GET('/api/chat-rooms/{room_id}', { params: { path: { room_id: roomId } } }).catch(() => null);
    if (!answer) return;
    const { data, response } = answer;
    if (data) {
      setRoom(data.room);
      setGone(false);
    } else if (response.status === 404 || response.status === 403) {
      setGone(true);
    }
  }, [api, roomId]);

  useEffect(() => {
    void reload();
    const offUpdated = socket.on('room_updated', (frame) => {
      const id = frame.room?.['id'];
      if (id === undefined || id === roomId) void reload();
    });
    const offReset = socket.on('reset', (frame) => {
      if (frame.room_id === roomId) void reload();
    });
    return () => {
      offUpdated();
      offReset();
    };
  }, [socket, roomId, reload]);

  return { room, setRoom, gone, reload };
}
