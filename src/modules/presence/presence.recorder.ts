/** One user's online flag, and their last-seen stamp when going offline. */
export interface OnlineChange {
  id: number;
  isOnline: boolean;
  lastSeenAt?: Date;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * MySQL's copy of the online flag, written by group commit: the logins and logouts of one turn
 * of the event loop (and those that arrive while the previous statement runs) go into one
 * UPDATE, instead of one autocommit UPDATE each queued on the pool. One statement at a time,
 * so a later change of a user never lands before an earlier one; within a batch the latest
 * change of a user wins (a last-seen stamp of an earlier logout is kept). Each caller's promise
 * settles when its change is stored, so it is still recorded before it is published.
 */
export class OnlineRecorder {
  private pending = new Map<number, OnlineChange>();
  private waiters: Waiter[] = [];
  private scheduled = false;
  private writing = false;

  constructor(private readonly write: (changes: readonly OnlineChange[]) => Promise<unknown>) {}

  record(id: number, isOnline: boolean, lastSeenAt?: Date): Promise<void> {
    const earlier = this.pending.get(id);
    const stamp = lastSeenAt ?? earlier?.lastSeenAt;
    this.pending.set(id, { id, isOnline, ...(stamp ? { lastSeenAt: stamp } : {}) });
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const changes = [...this.pending.values()];
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    this.writing = true;
    try {
      await this.write(changes);
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    } finally {
      this.writing = false;
      if (this.pending.size > 0) this.schedule();
    }
  }
}
