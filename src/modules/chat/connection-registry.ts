import { CLOSE_TOKEN_INVALID } from './chat.connection.ts';

/**
 * An open chat session of one user on one token: a WebSocket, or an SSE stream of the chat
 * fallback. Revocation, deactivation, expiry and shutdown end both alike.
 */
export interface ChatSession {
  readonly userId: number;
  readonly jti: string;
  close(code: number, reason: string): void;
  /** Liveness check, every ping interval: a socket that did not answer the last ping is cut. */
  ping(): void;
  /** A frame for this user rather than a room (presence, notifications); ignored where it does not belong. */
  userEvent(frame: string): void;
}

/**
 * Sessions under one key (a user, a token): most keys have one, kept as itself; a Set only
 * from the second on (two Sets per socket were a tenth of an idle socket's heap).
 */
type OneOrMore = ChatSession | Set<ChatSession>;

function addTo<K>(map: Map<K, OneOrMore>, key: K, session: ChatSession): void {
  const current = map.get(key);
  if (current === undefined) map.set(key, session);
  else if (current instanceof Set) current.add(session);
  else if (current !== session) map.set(key, new Set([current, session]));
}

function removeFrom<K>(map: Map<K, OneOrMore>, key: K, session: ChatSession): void {
  const current = map.get(key);
  if (current === session) map.delete(key);
  else if (current instanceof Set && current.delete(session) && current.size === 0) map.delete(key);
}

function each(value: OneOrMore | undefined): Iterable<ChatSession> {
  if (value === undefined) return EMPTY;
  return value instanceof Set ? value : [value];
}

/** This process's open chat sessions, also by token (a revoked token closes all of its sessions). */
export class ConnectionRegistry {
  private readonly all = new Set<ChatSession>();
  private readonly byJti = new Map<string, OneOrMore>();
  private readonly byUser = new Map<number, OneOrMore>();

  add(connection: ChatSession): void {
    this.all.add(connection);
    addTo(this.byUser, connection.userId, connection);
    addTo(this.byJti, connection.jti, connection);
  }

  remove(connection: ChatSession): void {
    this.all.delete(connection);
    removeFrom(this.byUser, connection.userId, connection);
    removeFrom(this.byJti, connection.jti, connection);
  }

  get size(): number {
    return this.all.size;
  }

  connections(): ReadonlySet<ChatSession> {
    return this.all;
  }

  /** Each connected user once. */
  userIds(): number[] {
    return [...this.byUser.keys()];
  }

  /** This user's sessions here (sockets and streams). */
  sessionsOf(userId: number): Iterable<ChatSession> {
    return each(this.byUser.get(userId));
  }

  jtis(): string[] {
    return [...this.byJti.keys()];
  }

  closeRevoked(jti: string): void {
    // A copy: closing may remove sessions from the set being walked.
    for (const connection of [...each(this.byJti.get(jti))]) connection.close(CLOSE_TOKEN_INVALID, 'Token revoked');
  }

  closeAll(code: number, reason: string): void {
    for (const connection of this.all) connection.close(code, reason);
  }
}

const EMPTY: ReadonlySet<ChatSession> = new Set();
