import { useNavigation } from '../navigation.tsx';
import { nameOf, usePeople } from '../people.tsx';
import type { User } from '../session.tsx';
import { timeAgo } from '../ui/time.ts';
import { type Notification, useNotifications } from './NotificationsProvider.tsx';

function describe(notification: Notification, actor: User | undefined): string {
  const who = nameOf(actor, '누군가');
  switch (notification.type) {
    case 'friend_request':
      return `${who}님이 친구 요청을 보냈습니다`;
    case 'friend_accepted':
      return `${who}님이 친구 요청을 수락했습니다`;
    case 'mention':
      return `${who}님이 회원님을 언급했습니다: ${notification.preview ?? ''}`;
    case 'message':
      return notification.count > 1
        ? `${who}: ${notification.preview ?? ''} (새 메시지 ${notification.count}개)`
        : `${who}: ${notification.preview ?? ''}`;
  }
}

/** The 알림 tab: newest first; opening one marks it read and goes to its room. */
export function NotificationsPanel({ onOpenFriends }: { onOpenFriends(): void }) {
  const { items, unread, hasMore, loadMore, markRead, markAllRead } = useNotifications();
  const { openRoom } = useNavigation();
  const people = usePeople(items.flatMap((item) => (item.actor_id === null ? [] : [item.actor_id])));

  return (
    <section aria-label="알림 목록" className="panel-section notifications">
      <div className="section-head">
        <h2>알림 {unread > 0 && <span className="count">{unread}</span>}</h2>
        <button type="button" className="small" disabled={unread === 0} onClick={() => markAllRead().catch(() => undefined)}>
          모두 읽음
        </button>
      </div>
      {items.length === 0 && <p className="empty">알림이 없습니다</p>}
      <ul className="notification-list">
        {items.map((item) => {
          const text = describe(item, item.actor_id === null ? undefined : people.get(item.actor_id));
          return (
            <li key={item.id} className={item.read_at ? 'read' : 'unread'}>
              <button
                type="button"
                className="notification"
                onClick={() => {
                  if (!item.read_at) markRead([item.id]).catch(() => undefined);
                  if (item.room_id !== null) openRoom(item.room_id);
                  else onOpenFriends();
                }}
              >
                {!item.read_at && <span className="unread-mark" role="img" aria-label="읽지 않음" />}
                <span className="notification-text">{text}</span>
                <time dateTime={item.created_at}>{timeAgo(item.created_at)}</time>
              </button>
            </li>
          );
        })}
      </ul>
      {hasMore && (
        <button type="button" className="small" onClick={() => loadMore().catch(() => undefined)}>
          더 보기
        </button>
      )}
    </section>
  );
}
