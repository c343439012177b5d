/** The contract's error codes and the HTTP status each one travels with. */
export const ERROR_STATUS = {
  validation_error: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  details?: unknown[];
}

/** An expected failure: its code, message and details reach the client as they are. */
export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export const badRequest = (message: string, details?: unknown[]) => new AppError('validation_error', message, details);
export const invalidToken = (message = 'Missing or invalid access token') => new AppError('invalid_token', message);
export const forbidden = (message = 'You are not allowed to do this') => new AppError('forbidden', message);
export const notFound = (message: string) => new AppError('not_found', message);
export const conflict = (message: string) => new AppError('conflict', message);
export const payloadTooLarge = (message: string) => new AppError('payload_too_large', message);
export const unsupportedMediaType = (message: string) => new AppError('unsupported_media_type', message);
export const rateLimited = (retryAfterS: number, message = 'Too many requests, try again later') =>
  new AppError('rate_limited', message, undefined, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterS))) });
export const serviceUnavailable = (message: string) => new AppError('service_unavailable', message);
