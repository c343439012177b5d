import { AppError, badRequest } from './errors.ts';

/**
 * Runs a step that parses a multipart body (`request.file()`, `file.toBuffer()`).
 *
 * The multipart parser (busboy) reports a body it cannot parse (no or over-long boundary,
 * data cut short, a broken part header) with plain `Error`s that carry no code, which the
 * error handler would rightly treat as a bug (500). They are the client's malformed body: 400.
 * Coded errors (`FST_REQ_FILE_TOO_LARGE` → 413, `FST_INVALID_MULTIPART_CONTENT_TYPE` → 415, ...)
 * and our own AppErrors pass through unchanged.
 */
export async function parsingMultipart<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof AppError || hasCode(error)) throw error;
    throw badRequest('The multipart body is malformed', [{ location: 'body', message: reasonOf(error) }]);
  }
}

function hasCode(error: unknown): boolean {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}

/** busboy's own wording ("Unexpected end of multipart data"): short and free of internals. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return message.length > 0 && message.length <= 120 ? message : 'Malformed multipart body';
}
