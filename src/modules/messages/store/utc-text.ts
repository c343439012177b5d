import { parseUtcDateTime } from '../../../db/mysql-url.ts';

/**
 * DATETIME(3) text as the mariadb driver returns it with `dateStrings` (`2026-01-23 09:30:00.123`,
 * UTC as stored), turned into what history pages need without going through the Date parser
 * and `toISOString`: on a 20-message page those two were the largest part of the module's own
 * CPU time (bench/profiles/send-path.md, "Round four"). Any other shape takes the general path.
 */
const UTC_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

/** The API's form of it (`2026-01-23T09:30:00.123Z`, what `toISOString` writes). */
export function isoOfUtcText(text: string): string {
  if (!UTC_TEXT.test(text)) return parseUtcDateTime(text).toISOString();
  return `${text.slice(0, 10)}T${text.slice(11)}Z`;
}

/** The number written by the digits text[from..to) (already checked to be digits). */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i += 1) value = value * 10 + text.charCodeAt(i) - 48;
  return value;
}

/** The instant, from the digits (Date.UTC), not the string parser. */
export function dateOfUtcText(text: string): Date {
  if (!UTC_TEXT.test(text)) return parseUtcDateTime(text);
  return new Date(
    Date.UTC(digits(text, 0, 4), digits(text, 5, 7) - 1, digits(text, 8, 10), digits(text, 11, 13), digits(text, 14, 16), digits(text, 17, 19), digits(text, 20, 23)),
  );
}
