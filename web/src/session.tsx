import { type ApiClient, ChatSocket, createApiClient, type Schema } from '@bigtech/chat-client';
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';

export type User = Schema<'User'>;

/** What the banner shows: connected, lost (reconnecting), or back after a loss. */
export type ConnectionState = 'connecting' | 'online' | 'lost' | 'restored';

export interface Session {
  api: ApiClient;
  socket: ChatSocket;
  token: string;
  me: User;
  connection: ConnectionState;
  /** Replaces the signed-in user after a profile or avatar change. */
  setMe(user: User): void;
  logout(): Promise<void>;
}

const TOKEN_KEY = 'bigtech.token';
/** Same origin as the API (the server serves the app at /app/). */
export const baseUrl = window.location.origin;

/** The anonymous client, for register and login. */
export const publicApi: ApiClient = createApiClient({ baseUrl });

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside <SessionProvider>');
  return session;
}

interface ProviderProps {
  token: string;
  initialUser: User;
  onSignedOut(): void;
  children: ReactNode;
}

/** One API client and one chat socket per signed-in session, shared by every view. */
export function SessionProvider({ token, initialUser, onSignedOut, children }: ProviderProps) {
  const api = useMemo(() => createApiClient({ baseUrl, token }), [token]);
  const socket = useMemo(() => new ChatSocket({ baseUrl, token }), [token]);
  const [me, setMe] = useState(initialUser);
  const [connection, setConnection] = useState<ConnectionState>('connecting');

  useEffect(() => {
    let lost = false;
    const offOpen = socket.on('open', () => {
      setConnection(lost ? 'restored' : 'online');
      lost = false;
    });
    const offClose = socket.on('close', (event) => {
      if (event.willReconnect) {
        lost = true;
        setConnection('lost');
      }
    });
    const offAuth = socket.on('auth_error', () => {
      storeToken(undefined);
      onSignedOut();
    });
    socket.connect().catch(() => undefined);
    return () => {
      offOpen();
      offClose();
      offAuth();
      socket.close();
    };
  }, [socket, onSignedOut]);

  const session = useMemo<Session>(
    () => ({
      api,
      socket,
      token,
      me,
      connection,
      setMe,
      async logout() {
        await api.POST('/api/auth/logout').catch(() => undefined);
        storeToken(undefined);
        onSignedOut();
      },
    }),
    [api, socket, token, me, connection, onSignedOut],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
