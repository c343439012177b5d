import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorBody, type ErrorCode, ERROR_STATUS } from '../lib/errors.ts';

/**
 * One error handler for the whole app: every failure leaves as the contract's error body.
 * 5xx bodies never carry the underlying message (no stack traces, no SQL).
 */

const CODE_BY_FASTIFY_ERROR: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_error',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_error',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_error',
  FST_ERR_CTP_EMPTY_TYPE: 'validation_error',
  FST_ERR_CTP_INVALID_TYPE: 'validation_error',
  FST_PROTO_VIOLATION: 'validation_error',
};

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'validation_error',
  401: 'invalid_token',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'ER_GET_CONNECTION_TIMEOUT']);

interface ErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  validationContext?: string;
  cause?: unknown;
}

function asErrorLike(error: unknown): ErrorLike {
  return typeof error === 'object' && error !== null ? (error as ErrorLike) : {};
}

/** True when the failure is a database or Redis being out of reach rather than a bug. */
export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  const e = asErrorLike(error);
  if (e.code && (PRISMA_UNAVAILABLE.has(e.code) || NETWORK_CODES.has(e.code))) return true;
  if (e.name === 'PrismaClientInitializationError' || e.name === 'MaxRetriesPerRequestError') return true;
  const message = e.message ?? '';
  if (/Connection is closed|connect ECONNREFUSED|pool timeout|retrieve connection from pool|Can't reach database/i.test(message)) {
    return true;
  }
  return depth < 3 && e.cause !== undefined && isDependencyUnavailable(e.cause, depth + 1);
}

function validationDetails(error: FastifyError): unknown[] {
  const location = (error as ErrorLike).validationContext;
  return (error.validation ?? []).map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    return { location, field: path || undefined, message: issue.message };
  });
}

function describeValidation(details: unknown[], fallback: string): string {
  const first = details[0] as { field?: string; message?: string } | undefined;
  if (!first?.message) return fallback;
  return first.field ? `${first.field}: ${first.message}` : first.message;
}

export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof AppError) return { status: error.statusCode, body: error.toBody(), headers: error.headers };
  const e = asErrorLike(error);

  if (hasZodFastifySchemaValidationErrors(error) || (error as FastifyError).validation) {
    const details = validationDetails(error as FastifyError);
    return {
      status: 400,
      body: { error: 'validation_error', message: describeValidation(details, 'Invalid request'), details },
      headers: {},
    };
  }
  if (e.code === 'P2002') return respond('conflict', 'A record with these values already exists');
  if (e.code === 'P2025') return respond('not_found', 'Record not found');
  if (e.code?.startsWith('FST_JWT_')) return respond('invalid_token', 'Missing or invalid access token');

  const mapped = e.code ? CODE_BY_FASTIFY_ERROR[e.code] : undefined;
  if (mapped) return respond(mapped, e.message ?? mapped);
  if (isDependencyUnavailable(error)) return respond('service_unavailable', 'A backing service is unavailable, try again shortly');

  const status = e.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return { status, body: { error: CODE_BY_STATUS[status] ?? 'validation_error', message: e.message ?? 'Bad request' }, headers: {} };
  }
  return respond('internal_error', 'Internal server error');
}

function respond(code: ErrorCode, message: string) {
  return { status: ERROR_STATUS[code], body: { error: code, message }, headers: {} };
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, headers } = toErrorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.error, status }, body.message);
    return reply.code(status).headers(headers).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` };
    return reply.code(404).send(body);
  });
}

export default fp(errorsPlugin, { name: 'errors' });
