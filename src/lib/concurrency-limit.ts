/**
 * Runs at most `concurrency` tasks at once; the others wait in a FIFO queue of at most
 * `maxQueued`, beyond which `run` refuses at once (QueueFullError) instead of queueing for ever.
 *
 * Written here rather than taken from `p-limit` because it is this small and the project needs
 * the bounded queue too. Its use: bcrypt's async calls run in libuv's thread pool (4 threads by
 * default), so unbounded they take every core of a 2-core machine and the event loop waits for
 * a CPU; queued here, they leave it one.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) throw new QueueFullError();
      // The slot is handed over by the finishing task (running is not decremented then), so a
      // newcomer can never overtake the queue.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

export class QueueFullError extends Error {
  constructor() {
    super('Too many tasks waiting');
    this.name = 'QueueFullError';
  }
}
