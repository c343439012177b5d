import { describe, expect, it } from 'vitest';
import { lastSeenDisplay } from '../../src/modules/friends/last-seen-display.ts';

const NOW = new Date('2026-01-23T09:30:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

const offline = (ms: number) => lastSeenDisplay({ isOnline: false, lastSeenAt: ago(ms) }, NOW);

describe('lastSeenDisplay', () => {
  it('says 방금전 for an online user, whatever their last_seen_at', () => {
    expect(lastSeenDisplay({ isOnline: true, lastSeenAt: ago(3 * d) }, NOW)).toBe('방금전');
    expect(lastSeenDisplay({ isOnline: true, lastSeenAt: null }, NOW)).toBe('방금전');
  });

  it.each([
    [0, '방금전'],
    [4 * m + 59 * s, '방금전'],
    [4 * m + 59 * s + 999, '방금전'],
    [5 * m, '5분 전'],
    [5 * m + 59 * s, '5분 전'],
    [30 * m, '30분 전'],
    [59 * m, '59분 전'],
    [59 * m + 59 * s, '59분 전'],
    [60 * m, '1시간 전'],
    [2 * h + 30 * m, '2시간 전'],
    [23 * h + 59 * m, '23시간 전'],
    [24 * h - 1, '23시간 전'],
    [24 * h, '1일 전'],
    [47 * h + 59 * m, '1일 전'],
    [48 * h, '2일 전'],
    [400 * d, '400일 전'],
  ])('offline, last seen %i ms ago → %s', (elapsed, label) => {
    expect(offline(elapsed)).toBe(label);
  });

  it('treats a last_seen_at in the future (clock skew) as 방금전', () => {
    expect(offline(-10 * m)).toBe('방금전');
  });

  it('is null for an offline user who was never seen', () => {
    expect(lastSeenDisplay({ isOnline: false, lastSeenAt: null }, NOW)).toBeNull();
  });

  it('uses the injected clock, not the real one', () => {
    const lastSeenAt = new Date('2020-01-01T00:00:00.000Z');
    expect(lastSeenDisplay({ isOnline: false, lastSeenAt }, new Date('2020-01-01T00:07:00.000Z'))).toBe('7분 전');
    expect(lastSeenDisplay({ isOnline: false, lastSeenAt }, new Date('2020-01-01T05:00:00.000Z'))).toBe('5시간 전');
  });
});
