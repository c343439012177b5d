import type { FastifyBaseLogger } from 'fastify';
import type { PresenceFriendStore } from './presence.friends.ts';
import type { PresenceStream, StreamOwner } from './presence.stream.ts';

export interface WatcherRegistryOptions {
  friends: PresenceFriendStore;
  onlineFlags: (userIds: readonly number[]) => Promise<Map<number, boolean>>;
  log: FastifyBaseLogger;
}

export interface WatcherRegistryStats {
  streams: number;
  /** Distinct users watched by at least one local stream (registry keys). */
  watchedUsers: number;
  /** Registry entries (watched user, stream) over all users. */
  watchEntries: number;
  viewers: number;
  streamsWithTimers: number;
}

/**
 * Who watches whom on this process: watched user → the local streams watching them, and
 * viewer → their own streams. In memory only (the process's one presence subscription feeds
 * it), so a change costs work proportional to that user's local watchers.
 *
 * Friendship and block events are hints: recheck() asks MySQL about the pair (accepted
 * friends, no block either way) and each side's local streams start or stop watching the
 * other. An event for another deployment sharing the Redis server, or a stale one, changes
 * nothing.
 */
export class WatcherRegistry implements StreamOwner {
  private readonly watchers = new Map<number, Set<PresenceStream>>();
  private readonly viewers = new Map<number, Set<PresenceStream>>();
  private readonly streams = new Set<PresenceStream>();
  private watchEntries = 0;
  /** Re-checks of a pair run one after the other, so a later event's answer is applied last. */
  private readonly pairChecks = new Map<string, Promise<void>>();

  constructor(private readonly options: WatcherRegistryOptions) {}

  /** A new stream of its viewer; it watches nobody until watch(). close() removes it (detach). */
  add(stream: PresenceStream): void {
    this.streams.add(stream);
    addTo(this.viewers, stream.viewerId, stream);
  }

  /** Pushes one change to the local streams watching `userId`; returns how many there were. */
  pushStatus(userId: number, isOnline: boolean): number {
    const watching = this.watchers.get(userId);
    if (!watching) return 0;
    for (const stream of watching) stream.pushStatus(userId, isOnline);
    return watching.size;
  }

  /** A viewer's own open streams (a copy: acting on them may remove them). */
  streamsOf(viewerId: number): PresenceStream[] {
    return [...(this.viewers.get(viewerId) ?? [])];
  }

  hasViewer(viewerId: number): boolean {
    return this.viewers.has(viewerId);
  }

  /** Users with at least one open stream here. */
  viewerIds(): number[] {
    return [...this.viewers.keys()];
  }

  /** Ends every local stream of this viewer (an `error` event with `reason`, then the end). */
  closeStreamsOf(viewerId: number, reason: string): void {
    for (const stream of this.streamsOf(viewerId)) stream.close(reason);
  }

  watchedUserIds(): number[] {
    return [...this.watchers.keys()];
  }

  /** Local streams watching this user. */
  watcherCount(userId: number): number {
    return this.watchers.get(userId)?.size ?? 0;
  }

  /** An `error` event on every stream (they stay open). */
  sendErrorToAll(message: string): void {
    for (const stream of this.streams) stream.sendError(message);
  }

  closeAll(reason?: string): void {
    for (const stream of [...this.streams]) stream.close(reason);
  }

  stats(): WatcherRegistryStats {
    let streamsWithTimers = 0;
    for (const stream of this.streams) if (stream.hasTimers) streamsWithTimers += 1;
    return {
      streams: this.streams.size,
      watchedUsers: this.watchers.size,
      watchEntries: this.watchEntries,
      viewers: this.viewers.size,
      streamsWithTimers,
    };
  }

  // StreamOwner.

  watch(stream: PresenceStream, userId: number): void {
    if (stream.watched.has(userId)) return;
    stream.watched.add(userId);
    addTo(this.watchers, userId, stream);
    this.watchEntries += 1;
  }

  unwatch(stream: PresenceStream, userId: number): void {
    if (!stream.watched.delete(userId)) return;
    removeFrom(this.watchers, userId, stream);
    this.watchEntries -= 1;
  }

  detach(stream: PresenceStream): void {
    for (const userId of stream.watched) removeFrom(this.watchers, userId, stream);
    this.watchEntries -= stream.watched.size;
    stream.watched.clear();
    removeFrom(this.viewers, stream.viewerId, stream);
    this.streams.delete(stream);
  }

  onlineFlags(userIds: readonly number[]): Promise<Map<number, boolean>> {
    return this.options.onlineFlags(userIds);
  }

  // Friendship re-checks.

  /** The friendship or block between `a` and `b` changed: their local streams follow MySQL's answer. */
  recheck(a: number, b: number): void {
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a === b) return;
    if (!this.viewers.has(a) && !this.viewers.has(b)) return; // nobody here watches either: no query
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    const previous = this.pairChecks.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        const watchable = await this.options.friends.canWatch(a, b);
        this.follow(a, b, watchable);
        this.follow(b, a, watchable);
      } catch (error) {
        this.options.log.warn({ err: error, users: [a, b] }, 'could not re-check a friendship for presence streams');
        for (const stream of [...this.streamsOf(a), ...this.streamsOf(b)]) stream.sendError('Could not update the watched friends');
      }
    });
    this.pairChecks.set(key, next);
    void next.finally(() => {
      if (this.pairChecks.get(key) === next) this.pairChecks.delete(key);
    });
  }

  private follow(viewerId: number, userId: number, watchable: boolean): void {
    for (const stream of this.streamsOf(viewerId)) {
      if (watchable) stream.addFriend(userId);
      else stream.removeFriend(userId);
    }
  }
}

function addTo<V>(map: Map<number, Set<V>>, key: number, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function removeFrom<V>(map: Map<number, Set<V>>, key: number, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
