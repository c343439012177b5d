import type { Schema } from '@bigtech/chat-client';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { useSession } from '../session.tsx';

export type Notification = Schema<'Notification'>;

interface Notifications {
  items: Notification[];
  unread: number;
  hasMore: boolean;
  loadMore(): Promise<void>;
  markRead(ids: number[]): Promise<void>;
  markAllRead(): Promise<void>;
}

const NotificationsContext = createContext<Notifications | undefined>(undefined);

export function useNotifications(): Notifications {
  const value = useContext(NotificationsContext);
  if (!value) throw new Error('useNotifications outside <NotificationsProvider>');
  return value;
}

const PAGE = 30;

/** Newest first, one entry per id (a `message` notification is updated in place as messages arrive). */
function upsert(items: Notification[], next: Notification): Notification[] {
  const rest = items.filter((item) => item.id !== next.id);
  const index = rest.findIndex((item) => item.created_at < next.created_at);
  return index < 0 ? [...rest, next] : [...rest.slice(0, index), next, ...rest.slice(index)];
}

/**
 * My notifications and the unread count, live over the session's socket (`notification`,
 * `notifications_read` frames). Frames are not replayed after a reconnect, so the first page is
 * fetched again whenever the connection is back.
 */
export function NotificationsProvider({ children }: { children: ReactNode }) {
  const { api, socket, connection } = useSession();
  const [items, setItems] = useState<Notification[]>([]);
  const [unread, setUnread] = useState(0);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);

  const loadFirst = useCallback(async () => {
    const { data } = await api.GET('/api/notifications', { params: { query: { limit: PAGE } } });
    if (!data) return;
    // Merged, not replaced: a frame that arrived while this page was on its way stays.
    setItems((current) => data.notifications.reduce(upsert, current));
    setUnread(data.unread_count);
    setCursor((current) => current ?? data.next_cursor);
    setHasMore((current) => current || data.has_more);
  }, [api]);

  // At start (whether or not the socket opens) and whenever the socket is back.
  useEffect(() => {
    if (connection === 'connecting' || connection === 'restored') loadFirst().catch(() => undefined);
  }, [connection, loadFirst]);

  useEffect(() => {
    const offNew = socket.on('notification', (frame) => {
      setItems((current) => upsert(current, frame.notification));
      setUnread(frame.unread_count);
    });
    const offRead = socket.on('notifications_read', (frame) => {
      const ids = frame.ids === 'all' ? undefined : new Set(frame.ids);
      setItems((current) =>
        current.map((item) => (!item.read_at && (!ids || ids.has(item.id)) && (ids || item.created_at <= frame.read_at) ? { ...item, read_at: frame.read_at } : item)),
      );
      setUnread(frame.unread_count);
    });
    return () => {
      offNew();
      offRead();
    };
  }, [socket]);

  const value = useMemo<Notifications>(
    () => ({
      items,
      unread,
      hasMore,
      async loadMore() {
        if (!cursor) return;
        const { data } = await api.GET('/api/notifications', { params: { query: { limit: PAGE, before: cursor } } });
        if (!data) return;
        setItems((current) => data.notifications.reduce(upsert, current));
        setCursor(data.next_cursor);
        setHasMore(data.has_more);
      },
      async markRead(ids) {
        if (ids.length === 0) return;
        const { data } = await api.POST('/api/notifications/read', { body: { ids } });
        if (!data) return;
        const now = new Date().toISOString();
        setItems((current) => current.map((item) => (ids.includes(item.id) && !item.read_at ? { ...item, read_at: now } : item)));
        setUnread(data.unread_count);
      },
      async markAllRead() {
        const { data } = await api.POST('/api/notifications/read', { body: { all: true } });
        if (!data) return;
        const now = new Date().toISOString();
        setItems((current) => current.map((item) => (item.read_at ? item : { ...item, read_at: now })));
        setUnread(data.unread_count);
      },
    }),
    [api, items, unread, hasMore, cursor],
  );
  return <NotificationsContext.Provider value={value}>{children}</NotificationsContext.Provider>;
}
