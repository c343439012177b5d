import { describe, expect, it } from 'vitest';
import { parseUtcDateTime, utcDateTime } from '../../src/db/mysql-url.ts';
import { dateOfUtcText, isoOfUtcText } from '../../src/modules/messages/store/utc-text.ts';

describe('DATETIME(3) text of history rows', () => {
  it('gives the same instant and ISO text as the Date parser and toISOString', () => {
    const samples = ['2026-01-23 09:30:00.000', '2024-02-29 23:59:59.999', '2000-03-01 00:00:00.001', '1999-12-31 12:34:56.789', '2100-02-28 07:08:09.010'];
    for (let i = 0; i < 500; i += 1) samples.push(utcDateTime(new Date(Date.UTC(1970, 0, 1) + Math.floor(Math.random() * 4_102_444_800_000))));
    for (const text of samples) {
      const expected = parseUtcDateTime(text);
      expect(dateOfUtcText(text).getTime(), text).toBe(expected.getTime());
      expect(isoOfUtcText(text), text).toBe(expected.toISOString());
    }
  });

  it('takes the general path for any other shape', () => {
    expect(isoOfUtcText('2026-01-23 09:30:00')).toBe('2026-01-23T09:30:00.000Z');
    expect(dateOfUtcText('2026-01-23 09:30:00.5').toISOString()).toBe('2026-01-23T09:30:00.500Z');
  });
});
