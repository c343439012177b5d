/** The largest delay setTimeout accepts. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Deadlines of many items on one timer: items are kept in buckets by deadline (epoch seconds,
 * as JWT `exp` is), and a single timer is set for the earliest bucket. An item costs an entry
 * in a Set instead of a Timeout, its callback closure and a listener to clear it.
 */
export class DeadlineWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;

  constructor(private readonly onDue: (item: T) => void) {}

  /** `onDue(item)` at `deadlineS * 1000` (at once when that is past), unless removed first. */
  add(item: T, deadlineS: number): void {
    const bucket = this.buckets.get(deadlineS);
    if (bucket) bucket.add(item);
    else this.buckets.set(deadlineS, new Set([item]));
    if (this.armedFor === undefined || deadlineS < this.armedFor) this.arm(deadlineS);
  }

  /** Forgets the item; `deadlineS` is the one it was added with. */
  remove(item: T, deadlineS: number): void {
    const bucket = this.buckets.get(deadlineS);
    if (!bucket?.delete(item) || bucket.size > 0) return;
    this.buckets.delete(deadlineS);
    // The timer stays armed for a bucket gone empty: it fires, finds nothing and re-arms.
  }

  get size(): number {
    let size = 0;
    for (const bucket of this.buckets.values()) size += bucket.size;
    return size;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }

  private arm(deadlineS: number): void {
    clearTimeout(this.timer);
    this.armedFor = deadlineS;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMER_MS, Math.max(0, deadlineS * 1000 - Date.now())));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    const now = Date.now();
    let next: number | undefined;
    for (const [deadlineS, bucket] of this.buckets) {
      if (deadlineS * 1000 > now) {
        if (next === undefined || deadlineS < next) next = deadlineS;
        continue;
      }
      this.buckets.delete(deadlineS);
      for (const item of bucket) this.onDue(item);
    }
    if (next !== undefined && (this.armedFor === undefined || next < this.armedFor)) this.arm(next);
  }
}
