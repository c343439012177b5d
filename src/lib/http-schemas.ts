import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

export const errorBody = z
  .object({
    error: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.array(z.unknown()).optional(),
  })
  .meta({ id: 'Error' });

/** Response schemas for the listed error statuses, for the OpenAPI document. */
export function errorResponses<const S extends number>(...statuses: S[]): Record<S, typeof errorBody> {
  return Object.fromEntries(statuses.map((status) => [status, errorBody])) as Record<S, typeof errorBody>;
}

/**
 * A positive integer id in a path: plain decimal digits only ("0x10", "1e3", " 7" are refused
 * with 400 rather than read as numbers), at most 2^31 - 1 (the INT columns).
 */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .pipe(z.number().int().positive().max(2_147_483_647));

export const noContent = z.null().describe('No content');

export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

/** C0 control characters and DEL: never part of text a user searches for (MongoDB refuses NUL in a $regex). */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Search text: trimmed, `min`-`max` characters, no control characters (400 otherwise). */
export function searchText(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((text) => !CONTROL_CHARACTERS.test(text), 'must not contain control characters');
}
