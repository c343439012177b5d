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

/** This process's open chat sessions, also by token (a revoked token closes all of its sessions). */
export class ConnectionRegistry {
  private readonly all = new Set<ChatSession>();
  private readonly byJti = new Map<string, Set<ChatSession>>();
  private readonly byUser = new Map<number, Set<ChatSession>>();

  add(connection: ChatSession): void {
    this.all.add(connection);
    const sameUser = this.byUser.get(connection.userId) ?? new Set<ChatSession>();
    sameUser.add(connection);
    this.byUser.set(connection.userId, sameUser);
    const sameToken = this.byJti.get(connection.jti) ?? new Set<ChatSession>();
    sameToken.add(connection);
    this.byJti.set(connection.jti, sameToken);
  }

  remove(connection: ChatSession): void {
    this.all.delete(connection);
    const sameUser = this.byUser.get(connection.userId);
    sameUser?.delete(connection);
    if (sameUser?.size === 0) this.byUser.delete(connection.userId);
    const sameToken = this.byJti.get(connection.jti);
    sameToken?.delete(connection);
    if (sameToken?.size === 0) this.byJti.delete(connection.jti);
  }

  get size(): number {
    return this.all.size;
  }

  connections(): ReadonlySet<ChatSession> {
    return this.all;
  }

  private withToken(jti: string): ReadonlySet<ChatSession> {
    return this.byJti.get(jti) ?? EMPTY;
  }

  /** Each connected user once. */
  userIds(): number[] {
    return [...this.byUser.keys()];
  }

  /** This user's sessions here (sockets and streams). */
  sessionsOf(userId: number): ReadonlySet<ChatSession> {
    return this.byUser.get(userId) ?? EMPTY;
  }

  jtis(): string[] {
    return [...this.byJti.keys()];
  }

  closeRevoked(jti: string): void {
    for (const connection of this.withToken(jti)) connection.close(CLOSE_TOKEN_INVALID, 'Token revoked');
  }

  closeAll(code: number, reason: string): void {
    for (const connection of this.all) connection.close(code, reason);
  }
}

const EMPTY: ReadonlySet<ChatSession> = new Set();
