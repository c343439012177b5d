import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineWheel } from '../../src/lib/deadline-wheel.ts';

describe('DeadlineWheel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-02T00:00:00.000Z'));
  });
  afterEach(() => vi.useRealTimers());

  const nowS = () => Math.floor(Date.now() / 1000);

  it('calls back each item at its deadline second, earliest first, on one timer', () => {
    const due: string[] = [];
    const wheel = new DeadlineWheel<string>((item) => due.push(`${item}@${Date.now() % 10_000}`));
    wheel.add('late', nowS() + 3);
    wheel.add('early', nowS() + 1);
    wheel.add('also-early', nowS() + 1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['early@1000', 'also-early@1000']);
    vi.advanceTimersByTime(2000);
    expect(due).toEqual(['early@1000', 'also-early@1000', 'late@3000']);
    expect(wheel.size).toBe(0);
  });

  it('forgets removed items and calls back a past deadline at once', () => {
    const due: string[] = [];
    const wheel = new DeadlineWheel<string>((item) => due.push(item));
    wheel.add('removed', nowS() + 1);
    wheel.add('kept', nowS() + 2);
    wheel.remove('removed', nowS() + 1);
    wheel.add('past', nowS() - 5);
    vi.advanceTimersByTime(0);
    expect(due).toEqual(['past']);
    vi.advanceTimersByTime(2000);
    expect(due).toEqual(['past', 'kept']);
  });

  it('stop() cancels the timer', () => {
    const due: string[] = [];
    const wheel = new DeadlineWheel<string>((item) => due.push(item));
    wheel.add('a', nowS() + 1);
    wheel.stop();
    vi.advanceTimersByTime(5000);
    expect(due).toEqual([]);
  });
});
