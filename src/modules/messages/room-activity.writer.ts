/** Waits after a failed write before the next attempt: doubles from FIRST to MAX. */
export const RETRY_FIRST_MS = 100;
export const RETRY_MAX_MS = 10_000;

interface Pending {
  /** Per room, the latest time asked for. */
  times: Map<number, Date>;
  /** Resolves once a write carrying these times was attempted (whatever its outcome). */
  attempted: Promise<void>;
  done: () => void;
}

function pending(): Pending {
  let done!: () => void;
  const attempted = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { times: new Map(), attempted, done };
}

/** Keeps each room's latest time. */
function keepLatest(times: Map<number, Date>, roomId: number, at: Date): void {
  const known = times.get(roomId);
  if (!known || at > known) times.set(roomId, at);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `rooms.last_message_at` after sends, written after the senders are answered: one UPDATE in
 * flight in this process, for every room.
 *
 * Sends do not wait for it (a message is acknowledged once it is stored; the room list is its
 * only reader). The UPDATE only moves times forward, so the sends that arrive while one is
 * running are folded into a single next UPDATE carrying each room's latest time, and a failed
 * one is folded back and tried again with a growing delay (logged with its rooms each time), so
 * a failure never leaves a room's time behind for good while the process lives; `close` makes a
 * last attempt at shutdown.
 *
 * Readers that sort by the time (room lists, unread counts) call `settled` first: it resolves
 * once everything recorded before the call was written (or its write failed once), so a sender
 * listing its rooms on this instance right after its send sees the room moved.
 */
export class RoomActivityWriter {
  private next: Pending | null = null;
  private inFlight: Pending | null = null;
  private running = false;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly write: (times: ReadonlyMap<number, Date>) => Promise<void>,
    private readonly log: { warn(details: object, message: string): void },
  ) {}

  record(roomId: number, at: Date): void {
    this.next ??= pending();
    keepLatest(this.next.times, roomId, at);
    this.schedule();
  }

  /**
   * Resolves once every time recorded before the call was written, or its write failed once
   * (at once while failed writes wait for their retry: readers then get what MySQL has). Never rejects.
   */
  settled(): Promise<void> {
    if (this.retryTimer) return Promise.resolve();
    const last = this.next ?? this.inFlight;
    return last ? last.attempted : Promise.resolve();
  }

  /** At shutdown: one last attempt at what is waiting (even while backing off), then no more retries. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    while (this.running) await (this.inFlight?.attempted ?? nextTurn());
    if (this.next) await this.drain();
  }

  private schedule(): void {
    if (this.running || this.retryTimer || this.closed) return;
    this.running = true;
    // The rest of this tick's sends (a stored group) join the first write.
    setImmediate(() => void this.drain());
  }

  /** Runs the folded writes one after another until none is waiting, or one fails. */
  private async drain(): Promise<void> {
    this.running = true;
    for (let batch = this.next; batch; batch = this.next) {
      this.next = null;
      this.inFlight = batch;
      const ok = await this.attempt(batch);
      this.inFlight = null;
      batch.done();
      if (!ok) break;
    }
    this.running = false;
  }

  /** One write; a failure puts its times back in front of the next and schedules the retry. */
  private async attempt(batch: Pending): Promise<boolean> {
    try {
      await this.write(batch.times);
      this.retryMs = 0;
      return true;
    } catch (error) {
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs === 0 ? RETRY_FIRST_MS : this.retryMs * 2);
      const roomIds = [...batch.times.keys()];
      this.log.warn(
        { err: error, roomId: roomIds.length === 1 ? roomIds[0] : undefined, roomIds, retryInMs: this.closed ? null : this.retryMs },
        'room activity update failed after messages were stored; it will be retried',
      );
      this.next ??= pending();
      for (const [roomId, at] of batch.times) keepLatest(this.next.times, roomId, at);
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.schedule();
        }, this.retryMs);
        this.retryTimer.unref();
      }
      return false;
    }
  }
}
