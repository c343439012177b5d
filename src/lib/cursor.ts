/** Opaque cursors (history pages, notifications, event streams): base64url JSON, validated strictly on the way back. */

import { type AppError, badRequest } from './errors.ts';

/** A cursor that this server did not issue. */
export class InvalidCursorError extends Error {
  constructor() {
    super('Invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/** Cursors are base64url JSON: opaque to clients, validated strictly on the way back. */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw new InvalidCursorError();
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidCursorError();
    return value as Record<string, unknown>;
  } catch {
    throw new InvalidCursorError();
  }
}

/** The 400 for a `before` query parameter that is not a cursor this server issued. */
export function invalidBeforeCursor(): AppError {
  return badRequest('before is not a cursor this server issued', [{ location: 'querystring', field: 'before', message: 'Invalid cursor' }]);
}
