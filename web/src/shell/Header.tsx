import { useNotifications } from '../notifications/NotificationsProvider.tsx';
import { nameOf } from '../people.tsx';
import { useSession } from '../session.tsx';
import { Avatar } from '../ui/Avatar.tsx';

export function Header({ onProfile, onNotifications }: { onProfile(): void; onNotifications(): void }) {
  const { me, logout } = useSession();
  const { unread } = useNotifications();
  const name = nameOf(me);
  return (
    <header className="topbar">
      <h1 className="brand">BigTech Chat</h1>
      <button type="button" className="icon-button" aria-label={unread > 0 ? `알림 ${unread}` : '알림'} onClick={onNotifications}>
        <BellIcon />
        {unread > 0 && (
          <span className="badge" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      <button type="button" className="me" aria-label="프로필" onClick={onProfile}>
        <Avatar name={name} url={me.profile_image_url} size={28} />
        <span className="me-name">{name}</span>
      </button>
      <button type="button" className="small" onClick={() => logout()}>
        로그아웃
      </button>
    </header>
  );
}

function BellIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
      <path d="M13.7 21a2 2 0 0 1-3.4 0" />
    </svg>
  );
}
