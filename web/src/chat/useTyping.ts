import { useCallback, useEffect, useRef, useState } from 'react';
import { useSession } from '../session.tsx';

/** Someone's "typing" lapses after this long without another frame. */
const TYPING_TTL_MS = 6000;
/** While I type, is_typing: true is repeated at most this often; it stops after this idle time. */
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;

/** Who else is typing in the room, and my own typing signal (throttled, stopped when idle). */
export function useTyping(roomId: number) {
  const { socket, me } = useSession();
  const [typing, setTyping] = useState<ReadonlyMap<number, number>>(new Map());

  useEffect(() => {
    const expire = setInterval(() => {
      setTyping((current) => {
        const now = Date.now();
        if (![...current.values()].some((until) => until <= now)) return current;
        return new Map([...current].filter(([, until]) => until > now));
      });
    }, 1000);
    const stop = (userId: number) =>
      setTyping((current) => {
        if (!current.has(userId)) return current;
        const next = new Map(current);
        next.delete(userId);
        return next;
      });
    const offSystem = socket.on('system', (frame) => {
      if (frame.room_id !== roomId || frame.event !== 'TYPING' || frame.user_id === me.id) return;
      if (frame.is_typing) setTyping((current) => new Map(current).set(frame.user_id, Date.now() + TYPING_TTL_MS));
      else stop(frame.user_id);
    });
    const offMessage = socket.on('message', (frame) => {
      if (frame.message.room_id === roomId) stop(frame.message.user_id);
    });
    return () => {
      clearInterval(expire);
      offSystem();
      offMessage();
    };
  }, [socket, roomId, me.id]);

  const lastSent = useRef(0);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // The server drops typing before the join completes: hold it until `joined`.
  const joined = useRef(false);
  const heldSince = useRef(0);

  useEffect(() => {
    joined.current = false;
    const offJoined = socket.on('joined', (frame) => {
      if (frame.room_id !== roomId) return;
      joined.current = true;
      if (heldSince.current > Date.now() - TYPING_IDLE_MS) {
        lastSent.current = Date.now();
        socket.typing(roomId, true);
      }
      heldSince.current = 0;
    });
    const offClose = socket.on('close', () => {
      joined.current = false;
    });
    return () => {
      offJoined();
      offClose();
    };
  }, [socket, roomId]);

  const stopTyping = useCallback(() => {
    clearTimeout(idleTimer.current);
    heldSince.current = 0;
    if (lastSent.current === 0) return;
    lastSent.current = 0;
    socket.typing(roomId, false);
  }, [socket, roomId]);

  const keystroke = useCallback(() => {
    const now = Date.now();
    if (!joined.current) heldSince.current = now;
    else if (now - lastSent.current > TYPING_REPEAT_MS) {
      lastSent.current = now;
      socket.typing(roomId, true);
    }
    clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  }, [socket, roomId, stopTyping]);

  useEffect(() => stopTyping, [stopTyping]);

  return { typingUserIds: [...typing.keys()], keystroke, stopTyping };
}
