import { useCallback, useMemo, useState } from 'react';
import { ChatView } from '../chat/ChatView.tsx';
import { RoomList } from '../chat/RoomList.tsx';
import { FriendsPanel } from '../friends/FriendsPanel.tsx';
import { type Navigation, NavigationContext } from '../navigation.tsx';
import { NotificationsPanel } from '../notifications/NotificationsPanel.tsx';
import { NotificationsProvider } from '../notifications/NotificationsProvider.tsx';
import { PeopleProvider } from '../people.tsx';
import { PresenceProvider } from '../presence.tsx';
import { ProfileEditor } from '../profile/ProfileEditor.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { Header } from './Header.tsx';
import { type Tab, Tabs } from './Tabs.tsx';

type MainView = { kind: 'none' } | { kind: 'room'; roomId: number } | { kind: 'profile' };

/**
 * The signed-in app: header, connection banner, the sidebar (채팅 / 친구 / 알림) and the main pane
 * (the open room or the profile). At phone width one of sidebar and main pane shows at a time.
 */
export function Shell() {
  return (
    <PeopleProvider>
      <PresenceProvider>
        <NotificationsProvider>
          <Layout />
        </NotificationsProvider>
      </PresenceProvider>
    </PeopleProvider>
  );
}

function Layout() {
  const [tab, setTab] = useState<Tab>('chats');
  const [main, setMain] = useState<MainView>({ kind: 'none' });
  const roomId = main.kind === 'room' ? main.roomId : undefined;
  const closeMain = useCallback(() => setMain({ kind: 'none' }), []);
  const navigation = useMemo<Navigation>(
    () => ({
      roomId,
      openRoom: (id) => {
        setMain({ kind: 'room', roomId: id });
        setTab('chats');
      },
      closeRoom: closeMain,
    }),
    [roomId, closeMain],
  );

  return (
    <NavigationContext.Provider value={navigation}>
      <div className="shell" data-pane={main.kind === 'none' ? 'list' : 'main'}>
        <Header onProfile={() => setMain({ kind: 'profile' })} onNotifications={() => setTab('notifications')} />
        <ConnectionBanner />
        <div className="columns">
          <aside className="sidebar" aria-label="사이드바">
            <Tabs tab={tab} onTab={setTab} />
            <div className="tab-panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
              {tab === 'chats' && <RoomList />}
              {tab === 'friends' && <FriendsPanel />}
              {tab === 'notifications' && <NotificationsPanel onOpenFriends={() => setTab('friends')} />}
            </div>
          </aside>
          <main className="main-pane">
            {main.kind !== 'none' && (
              <button type="button" className="back" onClick={closeMain}>
                ← 뒤로
              </button>
            )}
            {main.kind === 'room' && <ChatView key={main.roomId} roomId={main.roomId} onClosed={closeMain} />}
            {main.kind === 'profile' && <ProfileEditor />}
            {main.kind === 'none' && <p className="placeholder">채팅방을 선택하거나 친구와 대화를 시작하세요</p>}
          </main>
        </div>
      </div>
    </NavigationContext.Provider>
  );
}
