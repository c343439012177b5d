import { useCallback, useEffect, useMemo, useState } from 'react';
import { ChatView } from './chat/ChatView.tsx';
import { RoomList } from './chat/RoomList.tsx';
import { type Navigation, NavigationContext } from './navigation.tsx';
import { createApiClient } from '@bigtech/chat-client';
import { baseUrl, publicApi, SessionProvider, storedToken, storeToken, type User, useSession } from './session.tsx';



interface SignedIn {
  token: string;
  user: User;
}

/** Signs in (or restores the tab's session), then shows the shell. */
export function App() {
  const [signedIn, setSignedIn] = useState<SignedIn | undefined>();
  const [restoring, setRestoring] = useState(() => storedToken() !== undefined);

  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    createApiClient({ baseUrl, token })
      .GET('/api/auth/me')
      .then(({ data }) => {
        if (data) setSignedIn({ token, user: data.user });
        else storeToken(undefined);
      })
      .finally(() => setRestoring(false));
  }, []);

  const signOut = useCallback(() => setSignedIn(undefined), []);
  if (restoring) return <p role="status">불러오는 중…</p>;
  if (!signedIn) return <LoginScreen onSignedIn={setSignedIn} />;
  return (
    <SessionProvider token={signedIn.token} initialUser={signedIn.user} onSignedOut={signOut}>
      <Shell />
    </SessionProvider>
  );
}

function LoginScreen({ onSignedIn }: { onSignedIn(value: SignedIn): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const { data, error: failure } = await publicApi.POST('/api/auth/login/json', { body: { email, password } });
    if (!data) return setError(failure?.message ?? '로그인하지 못했습니다');
    storeToken(data.access_token);
    onSignedIn({ token: data.access_token, user: data.user });
  }
  return (
    <form onSubmit={submit} aria-label="로그인">
      <label>
        이메일 <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        비밀번호 <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      {error && <p role="alert">{error}</p>}
      <button type="submit">로그인</button>
    </form>
  );
}

function Shell() {
  const { me, connection } = useSession();
  const [roomId, setRoomId] = useState<number | undefined>();
  const navigation = useMemo<Navigation>(
    () => ({ roomId, openRoom: setRoomId, closeRoom: () => setRoomId(undefined) }),
    [roomId],
  );
  return (
    <NavigationContext.Provider value={navigation}>
      <header>
        <h1>BigTech Chat</h1>
        <span>{me.username}</span>
        {connection === 'lost' && <p role="status">연결이 끊겼습니다. 다시 연결하는 중…</p>}
      </header>
      <aside>
        <RoomList />
      </aside>
      <main>{roomId !== undefined ? <ChatView roomId={roomId} onClosed={navigation.closeRoom} /> : <p>채팅방을 선택하세요</p>}</main>
    </NavigationContext.Provider>
  );
}
