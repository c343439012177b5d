import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

export const errorBody = z
  .object({
    error: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]).describe('Stable machine-readable code'),
    message: z.string().describe('For people; may change'),
    details: z.array(z.unknown()).optional().describe('For validation_error: where and why, one entry per problem'),
  })
  .meta({
    id: 'Error',
    description: 'The body of every error response',
    examples: [{ error: 'not_found', message: 'Room 42 not found' }],
  });

/** What each error status means, for the document's response descriptions. */
const ERROR_MEANINGS = {
  400: '`validation_error`: a path, query or body value is invalid (`details` says which), or the body is not valid JSON',
  401: '`invalid_token` (missing, malformed, expired, revoked, or the account is deactivated) or `invalid_credentials`',
  403: '`forbidden`: not allowed for you, or a cookie-only request from a page of another site',
  404: '`not_found`: no such resource, or it is hidden from you',
  409: '`conflict`: the request clashes with the current state',
  413: '`payload_too_large`: the body is over the size limit',
  415: '`unsupported_media_type`: a body type or `Content-Encoding` this route does not take',
  429: '`rate_limited`: too many requests; wait `Retry-After` seconds',
  500: '`internal_error`: an unexpected failure (details are never sent)',
  503: '`service_unavailable`: MySQL, Redis or the message store is out of reach, or the server is shutting down',
} as const;

export type ErrorStatus = keyof typeof ERROR_MEANINGS;

function errorResponse(status: ErrorStatus) {
  return { description: ERROR_MEANINGS[status], content: { 'application/json': { schema: errorBody } } };
}

type ErrorResponse = ReturnType<typeof errorResponse>;

/** Response entries (the `Error` body with its meaning) for the listed error statuses. */
export function errorResponses<const S extends ErrorStatus>(...statuses: S[]): Record<S, ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(status)])) as Record<S, ErrorResponse>;
}

const MAX_INT_ID = 2_147_483_647;
const notAnId = { error: 'must be a positive integer' };

/**
 * A positive integer id in a path: plain decimal digits only ("0x10", "1e3", " 7" are refused
 * with 400 rather than read as numbers), at most 2^31 - 1 (the INT columns). A preprocess rather
 * than a string pipe, so that the document shows the integer it is (zod documents a preprocess
 * by its target schema).
 */
export const idParam = z.preprocess(
  (value) => (typeof value === 'string' && /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : value),
  z.number(notAnId).int().positive().max(MAX_INT_ID, notAnId),
);

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
