import type { Schema } from '@bigtech/chat-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { usePresence } from '../presence.tsx';
import { useSession } from '../session.tsx';

export type Friend = Schema<'Friend'>;
export type FriendRequest = Schema<'FriendRequest'>;
export type BlockedUser = Schema<'BlockedUser'>;

export interface Social {
  friends: Friend[];
  received: FriendRequest[];
  sent: FriendRequest[];
  blocked: BlockedUser[];
  loaded: boolean;
  /** Counts the loads: what shows relationships elsewhere (the directory) refreshes when it moves. */
  version: number;
  /** Fetches everything again (after an action of mine, or a change someone else made). */
  refresh(): void;
}

/** `last_seen_display` ("N분 전") goes stale by itself: the list is fetched again this often. */
const STALE_AFTER_MS = 60_000;
const COALESCE_MS = 300;

/**
 * Friends, requests and blocks. Others' actions reach me as notifications (a request to me, my
 * request accepted) and presence changes (a friend's `last_seen_display` moves): each one
 * refetches, coalesced.
 */
export function useSocial(): Social {
  const { api, socket, connection } = useSession();
  const presence = usePresence();
  const [state, setState] = useState<Omit<Social, 'refresh'>>({ friends: [], received: [], sent: [], blocked: [], loaded: false, version: 0 });
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const load = useCallback(async () => {
    const [friends, requests, blocked] = await Promise.all([api.GET('/api/friends/list'), api.GET('/api/friends/requests'), api.GET('/api/blocks')]);
    setState((current) => ({
      friends: friends.data ?? current.friends,
      received: requests.data?.received ?? current.received,
      sent: requests.data?.sent ?? current.sent,
      blocked: blocked.data ?? current.blocked,
      loaded: true,
      version: current.version + 1,
    }));
  }, [api]);

  const refresh = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => load().catch(() => undefined), COALESCE_MS);
  }, [load]);

  // At start, after every presence change (a friend's last_seen_display moves) and when the
  // socket is back (what changed meanwhile was not pushed).
  useEffect(() => {
    if (connection === 'restored') refresh();
  }, [connection, refresh]);
  useEffect(refresh, [presence, refresh]);
  useEffect(() => {
    const interval = setInterval(refresh, STALE_AFTER_MS);
    const off = socket.on('notification', (frame) => {
      if (frame.notification.type === 'friend_request' || frame.notification.type === 'friend_accepted') refresh();
    });
    return () => {
      clearInterval(interval);
      clearTimeout(timer.current);
      off();
    };
  }, [socket, refresh]);

  return { ...state, refresh };
}
