import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { useSession } from './session.tsx';

type Presence = ReadonlyMap<number, boolean>;

const PresenceContext = createContext<Presence>(new Map());

/**
 * Friends' online state, live over the session's socket (`presence_subscribe`: a snapshot, then
 * one frame per change; the SDK subscribes again after a reconnect and the new snapshot replaces
 * the old). Users not in it are unknown here: fall back to what REST said.
 */
export function PresenceProvider({ children }: { children: ReactNode }) {
  const { socket } = useSession();
  const [presence, setPresence] = useState<Presence>(new Map());
  useEffect(() => {
    const offSnapshot = socket.on('presence_snapshot', (frame) => setPresence(new Map(frame.friends.map((friend) => [friend.user_id, friend.is_online]))));
    const offChange = socket.on('presence', (frame) => setPresence((current) => new Map(current).set(frame.user_id, frame.is_online)));
    socket.subscribePresence();
    return () => {
      offSnapshot();
      offChange();
      socket.unsubscribePresence();
    };
  }, [socket]);
  return <PresenceContext.Provider value={presence}>{children}</PresenceContext.Provider>;
}

/** Whether a friend is online now (live), else `fallback`. */
export function useOnline(userId: number, fallback: boolean): boolean {
  return useContext(PresenceContext).get(userId) ?? fallback;
}

export function usePresence(): Presence {
  return useContext(PresenceContext);
}
