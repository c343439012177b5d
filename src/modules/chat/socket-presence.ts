import type { PresenceTransport } from '../presence/presence.stream.ts';
import { errorFrame } from './chat.frames.ts';

/**
 * Friends' presence as chat frames: one `presence_snapshot`, then a `presence` frame per change,
 * on a socket (`presence_subscribe`) or the user event stream. Neither needs a keep-alive of its
 * own (sockets are pinged, the stream has its writer's) nor coalescing (a client that stops
 * reading is cut off by its socket or stream).
 */
export class FramePresenceTransport implements PresenceTransport {
  readonly keepAlive = null;

  constructor(private readonly sink: { userEvent(frame: string): void }) {}

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
    this.sink.userEvent(chunk);
    return true;
  }

  onDrain(): void {}

  end(): void {}
}
