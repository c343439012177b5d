import type { PresenceTransport } from '../presence/presence.stream.ts';
import type { ChatConnection } from './chat.connection.ts';
import { errorFrame } from './chat.frames.ts';

/**
 * Friends' presence on the chat socket (`presence_subscribe`): one `presence_snapshot` frame,
 * then a `presence` frame per change. The socket needs no keep-alive of its own (the gateway
 * pings it) and no coalescing (a client that stops reading is cut off by ChatConnection).
 */
export class SocketPresenceTransport implements PresenceTransport {
  readonly keepAlive = null;

  constructor(private readonly connection: ChatConnection) {}

  begin(): void {}

  snapshot(friendIds: readonly number[], flags: ReadonlyMap<number, boolean>, held: readonly [number, boolean][]): string {
    const states = new Map(friendIds.map((userId) => [userId, flags.get(userId) ?? false]));
    // Changes that arrived while the flags loaded are newer: they win.
    for (const [userId, isOnline] of held) states.set(userId, isOnline);
    return JSON.stringify({ type: 'presence_snapshot', friends: [...states].map(([user_id, is_online]) => ({ user_id, is_online })) });
  }

  status(userId: number, isOnline: boolean): string {
    return JSON.stringify({ type: 'presence', user_id: userId, is_online: isOnline });
  }

  error(message: string): string {
    return errorFrame('BAD_REQUEST', message);
  }

  write(chunk: string): boolean {
    this.connection.send(chunk);
    return true;
  }

  onDrain(): void {}

  end(): void {}
}
