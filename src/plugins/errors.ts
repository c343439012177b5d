import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, badRequest, type ErrorBody, type ErrorCode, ERROR_STATUS } from '../lib/errors.ts';

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
  FST_ERR_BAD_URL: 'validation_error',
  FST_ERR_MAX_PARAM_LENGTH: 'validation_error',
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
  if (/Connection is closed|connect ECONNREFUSED|pool timeout|retrieve (a )?connection from pool|Can't reach database/i.test(message)) {
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
    // A 4xx the contract has no code for (405, 406, 414, 416, ...) leaves as a 400, so the
    // status always matches the body's code.
    const code = CODE_BY_STATUS[status];
    return code ? { status, body: { error: code, message: e.message ?? 'Bad request' }, headers: {} } : respond('validation_error', e.message ?? 'Bad request');
  }
  return respond('internal_error', 'Internal server error');
}

function isEmptyPayload(payload: unknown): boolean {
  return payload === undefined || payload === null || payload === '' || (Buffer.isBuffer(payload) && payload.length === 0);
}

function respond(code: ErrorCode, message: string) {
  return { status: ERROR_STATUS[code], body: { error: code, message }, headers: {} };
}

type ErrorResponse = ReturnType<typeof toErrorResponse>;

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, response: ErrorResponse = toErrorResponse(error)) {
  const { status, body, headers } = response;
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.error, status }, body.message);
  return reply.code(status).headers(headers).send(body);
}

/**
 * An upgrade request refused before @fastify/websocket's own hook saw it: its socket is no
 * longer tracked by Node's HTTP server, so close it once the answer is out.
 */
function closeUpgradeAfterReply(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.headers.upgrade) return;
  const socket = request.raw.socket;
  reply.header('connection', 'close');
  reply.raw.once('finish', () => socket.destroy());
  reply.raw.once('close', () => socket.destroy());
}

const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL path is not valid (malformed percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is too long',
};

/**
 * Fastify's `frameworkErrors` option: failures the router meets before any route or hook runs
 * (a path with broken percent-encoding, a path parameter over `maxParamLength`) leave as the
 * contract's 400 instead of Fastify's own `{"error": "Bad Request", "statusCode": ...}` body, and
 * without echoing the URL (it may carry `?token=`).
 *
 * No hook runs for these requests, so @fastify/websocket never learns that a WebSocket upgrade
 * request was refused and leaves its socket open (Node's HTTP server no longer tracks upgrade
 * sockets): it would hang there until the client left, and hold up a graceful shutdown. We close
 * it once the answer is out.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply) => {
  closeUpgradeAfterReply(request, reply);
  const message = FRAMEWORK_MESSAGES[error.code];
  void sendError(error, request, reply, message ? respond('validation_error', message) : undefined);
};

/**
 * Fastify's `clientErrorHandler` option: a request Node's HTTP parser refuses (a broken request
 * line, an invalid or doubled Content-Length, headers over the size limit, a timeout) never
 * reaches Fastify; it gets the contract's 400 on the raw socket instead of Fastify's
 * `{"error": "Bad Request", "statusCode": 400}`, and the connection is closed.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection is already gone: nothing to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const message =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'The request headers are too large'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'The request took too long to arrive'
        : 'The request is not valid HTTP';
  this.log.debug({ err: error }, 'client error');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: 'validation_error', message } satisfies ErrorBody);
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => sendError(error, request, reply));

  // Node answers an `Expect` other than 100-continue with a bare, bodiless 417 unless someone
  // listens for it. RFC 9110 lets a server ignore such an expectation: serve the request as usual.
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => app.routing(req, res));

  // HTTP/1.1 requires a Host header. Node's own check (off in app.ts) would answer an empty 400;
  // this one answers with the contract's body. Registered first, so it runs before any other hook.
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && !request.headers.host) {
      closeUpgradeAfterReply(request, reply);
      throw badRequest('The Host header is required');
    }
  });

  // Safety net for error replies that code we do not own sends outside the contract: an empty
  // 404 from @fastify/websocket for a plain GET on a WebSocket-only route, @fastify/cors's
  // text/plain 400 "Invalid Preflight Request". They leave as the error body with the same status.
  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode;
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : undefined);
    if (status < 400 || request.method === 'HEAD' || !code) return payload;
    const empty = isEmptyPayload(payload);
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (!empty && text === undefined) return payload; // a stream: already on its way
    if (!empty && String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    const detail = status < 500 && text && text.length <= 200 ? text : (STATUS_CODES[status] ?? 'Error');
    const body: ErrorBody = { error: code, message: `${detail}: ${request.method} ${request.url.split('?')[0]}` };
    reply.header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` };
    return reply.code(404).send(body);
  });
}

export default fp(errorsPlugin, { name: 'errors' });
