interface Pending {
  /** Per room, the latest time asked for. */
  times: Map<number, Date>;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `rooms.last_message_at` after sends: one UPDATE in flight in this process, for every room.
 *
 * The UPDATE only moves times forward, so the sends that arrive while one is running are folded
 * into a single next UPDATE carrying each room's latest time. A burst then costs a couple of
 * UPDATEs however many messages and rooms it spans, instead of one per message queuing on the
 * rooms' row locks and on the connection pool (under a burst those queued UPDATEs timed out
 * after their messages were stored, and the sends were reported failed).
 *
 * `record` resolves once a write covering `at` succeeded, and rejects with that write's error.
 */
export class RoomActivityWriter {
  private next: Pending | null = null;
  private running = false;

  constructor(private readonly write: (times: ReadonlyMap<number, Date>) => Promise<void>) {}

  record(roomId: number, at: Date): Promise<void> {
    this.next ??= pending();
    const known = this.next.times.get(roomId);
    if (!known || at > known) this.next.times.set(roomId, at);
    const { promise } = this.next;
    if (!this.running) {
      this.running = true;
      // The rest of this tick's sends (a stored group) join the first write.
      setImmediate(() => void this.drain());
    }
    return promise;
  }

  /** Runs the folded writes one after another until none is waiting. */
  private async drain(): Promise<void> {
    for (let next = this.next; next; next = this.next) {
      this.next = null;
      try {
        await this.write(next.times);
        next.resolve();
      } catch (error) {
        next.reject(error);
      }
    }
    this.running = false;
  }
}

function pending(): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every caller handles the outcome; this keeps a rejection nobody awaited yet from being "unhandled".
  promise.catch(() => {});
  return { times: new Map(), promise, resolve, reject };
}
