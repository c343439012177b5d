import { createApiClient } from '@bigtech/chat-client';
import { useCallback, useEffect, useState } from 'react';
import { AuthScreen, type SignedIn } from './auth/AuthScreen.tsx';
import { baseUrl, SessionProvider, storedToken, storeToken } from './session.tsx';
import { Shell } from './shell/Shell.tsx';

type Restore = 'restoring' | 'failed' | 'done';

/** Signs in (or restores the tab's session after a reload), then shows the shell. */
export function App() {
  const [signedIn, setSignedIn] = useState<SignedIn | undefined>();
  const [restore, setRestore] = useState<Restore>(() => (storedToken() ? 'restoring' : 'done'));

  const tryRestore = useCallback(() => {
    const token = storedToken();
    if (!token) return setRestore('done');
    setRestore('restoring');
    createApiClient({ baseUrl, token })
      .GET('/api/auth/me')
      .then(({ data, response }) => {
        if (data) setSignedIn({ token, user: data.user });
        else if (response.status === 401) storeToken(undefined);
        setRestore(data || response.status === 401 ? 'done' : 'failed');
      })
      .catch(() => setRestore('failed'));
  }, []);

  useEffect(tryRestore, [tryRestore]);

  const onSignedIn = useCallback((value: SignedIn) => {
    storeToken(value.token);
    setSignedIn(value);
  }, []);
  const onSignedOut = useCallback(() => setSignedIn(undefined), []);

  if (restore === 'restoring') return <p className="loading" role="status">불러오는 중…</p>;
  if (restore === 'failed' && !signedIn)
    return (
      <main className="auth">
        <p role="alert">서버에 연결할 수 없습니다.</p>
        <button type="button" className="primary" onClick={tryRestore}>
          다시 시도
        </button>
      </main>
    );
  if (!signedIn) return <AuthScreen onSignedIn={onSignedIn} />;
  return (
    <SessionProvider token={signedIn.token} initialUser={signedIn.user} onSignedOut={onSignedOut}>
      <Shell />
    </SessionProvider>
  );
}
