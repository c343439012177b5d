import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigation } from '../navigation.tsx';
import { useSession } from '../session.tsx';
import { onChatChange } from './bus.ts';
import { describe } from './errors.ts';
import { type ChatMessage, type Room, toChatMessage } from './model.ts';

/** A room of the list, its last message in the views' shape (a frame or REST may have given it). */
export type RoomEntry = Omit<Room, 'last_message'> & { last_message: ChatMessage | null };

/** Bursts of notifications (a busy room) refetch the list once. */
const REFETCH_DELAY_MS = 300;
/** A socket is not told when someone adds me to a group: the list is read again this often. */
const POLL_MS = 15_000;

/**
 * My rooms, newest activity first, kept live: messages of joined rooms arrive as frames, those of
 * the others as `notification` frames (then the list is read again); the open room counts as read.
 */
export function useRooms() {
  const { api, socket, me } = useSession();
  const { roomId: openRoomId } = useNavigation();
  const [rooms, setRooms] = useState<RoomEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const openRef = useRef(openRoomId);
  openRef.current = openRoomId;
  const roomsRef = useRef(rooms);
  roomsRef.current = rooms;
  const known = (roomId: number) => roomsRef.current?.some((room) => room.id === roomId) ?? false;

  const refetch = useCallback(async () => {
    // A network failure (the server restarting) keeps the list shown; the next refetch mends it.
    const answers = await Promise.all([api.GET('/api/chat-rooms', { params: { query: { limit: 100 } } }), api.GET('/api/chat-rooms/unread')]).catch(() => null);
    if (!answers) return;
    const [list, unread] = answers;
    if (!list.data) return setError(describe(list.error, '채팅방을 불러오지 못했습니다'));
    const counts = new Map((unread.data?.rooms ?? []).map((entry) => [entry.room_id, entry.unread_count]));
    setError(null);
    setRooms(
      list.data.map((room) => ({
        ...room,
        last_message: room.last_message && toChatMessage(room.last_message),
        unread_count: room.id === openRef.current ? 0 : (counts.get(room.id) ?? room.unread_count),
      })),
    );
  }, [api]);

  const soon = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void refetch(), REFETCH_DELAY_MS);
  }, [refetch]);

  useEffect(() => {
    void refetch();
    const offs = [
      socket.on('message', (frame) => {
        const message = frame.message;
        if (!known(message.room_id)) return soon();
        setRooms((current) => {
          const room = current?.find((candidate) => candidate.id === message.room_id);
          if (!current || !room) return current;
          const unread = message.room_id === openRef.current || message.user_id === me.id ? 0 : room.unread_count + 1;
          const updated: RoomEntry = { ...room, last_message: toChatMessage(message), unread_count: unread };
          return [updated, ...current.filter((candidate) => candidate !== room)];
        });
      }),
      socket.on('message_deleted', (frame) =>
        setRooms((current) =>
          current?.map((room) => (room.last_message?.id === frame.message.id ? { ...room, last_message: { ...room.last_message, is_deleted: true, content: null } } : room)) ?? null,
        ),
      ),
      socket.on('message_updated', (frame) =>
        setRooms((current) =>
          current?.map((room) => (room.last_message?.id === frame.message.id ? { ...room, last_message: { ...room.last_message, content: frame.message.content } } : room)) ?? null,
        ),
      ),
      socket.on('notification', (frame) => {
        if (frame.notification.room_id !== null) soon();
      }),
      socket.on('room_updated', soon),
      socket.on('open', (event) => event.reconnect && soon()),
      onChatChange((change) => {
        if (change.type === 'rooms_changed') soon();
        else setRooms((current) => current?.map((room) => (room.id === change.roomId ? { ...room, unread_count: 0 } : room)) ?? null);
      }),
    ];
    const onFocus = () => soon();
    window.addEventListener('focus', onFocus);
    const poll = setInterval(() => document.visibilityState === 'visible' && soon(), POLL_MS);
    return () => {
      clearInterval(poll);
      for (const off of offs) off();
      window.removeEventListener('focus', onFocus);
      clearTimeout(timer.current);
    };
  }, [socket, me.id, refetch, soon]);

  // A room opened from elsewhere (a friend's direct room just created) joins the list.
  useEffect(() => {
    if (openRoomId === undefined) return;
    if (roomsRef.current && !known(openRoomId)) soon();
    setRooms((current) => current?.map((room) => (room.id === openRoomId ? { ...room, unread_count: 0 } : room)) ?? null);
  }, [openRoomId, soon]);

  return { rooms, error, refetch };
}
