import { type KeyboardEvent, useRef } from 'react';
import { useNotifications } from '../notifications/NotificationsProvider.tsx';

export type Tab = 'chats' | 'friends' | 'notifications';

const TABS: readonly { id: Tab; label: string }[] = [
  { id: 'chats', label: '채팅' },
  { id: 'friends', label: '친구' },
  { id: 'notifications', label: '알림' },
];

/** The sidebar's sections as an ARIA tablist (arrow keys move between tabs). */
export function Tabs({ tab, onTab }: { tab: Tab; onTab(tab: Tab): void }) {
  const { unread } = useNotifications();
  const list = useRef<HTMLDivElement>(null);
  function onKeyDown(event: KeyboardEvent) {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const index = TABS.findIndex((entry) => entry.id === tab);
    const next = TABS[(index + (event.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
    if (!next) return;
    onTab(next.id);
    list.current?.querySelector<HTMLButtonElement>(`#tab-${next.id}`)?.focus();
  }
  return (
    <div className="tabs" role="tablist" aria-label="메뉴" ref={list} onKeyDown={onKeyDown}>
      {TABS.map((entry) => (
        <button
          key={entry.id}
          type="button"
          role="tab"
          id={`tab-${entry.id}`}
          aria-selected={tab === entry.id}
          aria-controls={`panel-${entry.id}`}
          tabIndex={tab === entry.id ? 0 : -1}
          onClick={() => onTab(entry.id)}
        >
          {entry.label}
          {entry.id === 'notifications' && unread > 0 && (
            <span className="badge" aria-hidden="true">
              {unread}
            </span>
          )}
        </button>
      ))}
    </div>
  );
}
