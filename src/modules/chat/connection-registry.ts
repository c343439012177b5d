import { type ChatConnection, CLOSE_TOKEN_INVALID } from './chat.connection.ts';

/** This process's open chat sockets, also by token (a revoked token closes all of its sockets). */
export class ConnectionRegistry {
  private readonly all = new Set<ChatConnection>();
  private readonly byJti = new Map<string, Set<ChatConnection>>();

  add(connection: ChatConnection): void {
    this.all.add(connection);
    const sameToken = this.byJti.get(connection.jti) ?? new Set<ChatConnection>();
    sameToken.add(connection);
    this.byJti.set(connection.jti, sameToken);
  }

  remove(connection: ChatConnection): void {
    this.all.delete(connection);
    const sameToken = this.byJti.get(connection.jti);
    sameToken?.delete(connection);
    if (sameToken?.size === 0) this.byJti.delete(connection.jti);
  }

  get size(): number {
    return this.all.size;
  }

  connections(): ReadonlySet<ChatConnection> {
    return this.all;
  }

  private withToken(jti: string): ReadonlySet<ChatConnection> {
    return this.byJti.get(jti) ?? EMPTY;
  }

  /** Each connected user once. */
  userIds(): number[] {
    return [...new Set([...this.all].map((connection) => connection.userId))];
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

const EMPTY: ReadonlySet<ChatConnection> = new Set();
