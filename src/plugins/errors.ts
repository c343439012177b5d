import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, badRequest, type ErrorBody, type ErrorCode, ERROR_STATUS } from '../lib/errors.ts';

/**
 * One error handler for the whole app: every failure leaves as the contract's error body.
 * 5xx bodies never carry the underlying message (no stack traces, no SQL).
 */

/**
 * Says whether a thrown value means that a backing service (MySQL, Redis, MongoDB, ...) is out of
 * reach, so the request is answered 503 `service_unavailable` rather than 500. Each client plugin
 * knows its own library's error classes and codes and registers a classifier for them with
 * `app.treatAsUnavailable`; the errors plugin knows no client library. A classifier gets any
 * thrown value (not only Errors) and should not throw; one that throws counts as "no".
 */
export type UnavailableClassifier = (error: unknown) => boolean;

/** Registered classifiers, by the name of the dependency they speak for ('mysql', 'redis', ...). */
export type UnavailableClassifiers = ReadonlyMap<string, UnavailableClassifier>;

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** For a 503 from a classifier: the dependency it speaks for (logged, never sent). */
  dependency?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Declares which thrown values mean `dependency` is out of reach: the error handler answers
     * them with 503 `service_unavailable`. Client plugins call it for their own errors at
     * registration (so they depend on the 'errors' plugin). One classifier per name: registering
     * the same one again does nothing, a different one under a taken name throws.
     */
    treatAsUnavailable(dependency: string, classifier: UnavailableClassifier): void;
    /**
     * The contract's answer for any thrown value, with the registered classifiers consulted: the
     * same status and body the HTTP error handler sends (for WebSocket or SSE error frames).
     */
    errorResponse(error: unknown): ErrorResponse;
  }
}

const CODE_BY_FASTIFY_ERROR = new Map<string, ErrorCode>([
  ['FST_ERR_CTP_BODY_TOO_LARGE', 'payload_too_large'],
  ['FST_REQ_FILE_TOO_LARGE', 'payload_too_large'],
  ['FST_PARTS_LIMIT', 'payload_too_large'],
  ['FST_FILES_LIMIT', 'payload_too_large'],
  ['FST_FIELDS_LIMIT', 'payload_too_large'],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'unsupported_media_type'],
  ['FST_INVALID_MULTIPART_CONTENT_TYPE', 'unsupported_media_type'],
  ['FST_ERR_CTP_EMPTY_JSON_BODY', 'validation_error'],
  ['FST_ERR_CTP_INVALID_JSON_BODY', 'validation_error'],
  ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'validation_error'],
  ['FST_ERR_CTP_EMPTY_TYPE', 'validation_error'],
  ['FST_ERR_CTP_INVALID_TYPE', 'validation_error'],
  ['FST_PROTO_VIOLATION', 'validation_error'],
  ['FST_ERR_BAD_URL', 'validation_error'],
  ['FST_ERR_MAX_PARAM_LENGTH', 'validation_error'],
]);

const CODE_BY_STATUS = new Map<number, ErrorCode>([
  [400, 'validation_error'],
  [401, 'invalid_token'],
  [403, 'forbidden'],
  [404, 'not_found'],
  [409, 'conflict'],
  [413, 'payload_too_large'],
  [415, 'unsupported_media_type'],
  [429, 'rate_limited'],
  [503, 'service_unavailable'],
]);

const CONTRACT_STATUSES = new Set<number>(Object.values(ERROR_STATUS));

const UNAVAILABLE_MESSAGE = 'A backing service is unavailable, try again shortly';

// ---------------------------------------------------------------------------------------------
// Reading thrown values of any shape. A thrown value can be anything: a string, null, a symbol,
// an object whose getters throw, a Proxy that throws on every trap, a frozen object, an Error
// whose `cause` points back at itself. Nothing here throws on any of them.
// ---------------------------------------------------------------------------------------------

/** `value[key]`, or undefined when `value` is not an object or reading it throws. */
export function readProperty(value: unknown, key: PropertyKey): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return Reflect.get(value, key);
  } catch {
    return undefined;
  }
}

/** `value instanceof type`, false instead of throwing (a Proxy's getPrototypeOf trap may throw). */
export function isInstance(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** A string property, or undefined (a MongoDB server error's `code` is a number, for one). */
function readString(value: unknown, key: PropertyKey): string | undefined {
  const property = readProperty(value, key);
  return typeof property === 'string' ? property : undefined;
}

const MAX_CHAIN = 16;

/**
 * The thrown value followed by what it wraps: its `cause` chain and an AggregateError's `errors`
 * (Node's happy-eyeballs connect fails with one per address tried), each value once, at most 16.
 * Client classifiers test every link, so an error wrapped by a library or by our own code is
 * still recognised.
 */
export function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < MAX_CHAIN) {
    const value = queue.shift();
    if (value === undefined || value === null || seen.has(value)) continue;
    seen.add(value);
    chain.push(value);
    const cause = readProperty(value, 'cause');
    if (cause !== undefined) queue.push(cause);
    try {
      const errors = readProperty(value, 'errors');
      if (Array.isArray(errors)) queue.push(...errors.slice(0, MAX_CHAIN));
    } catch {
      // An `errors` that cannot be read (a revoked Proxy, a throwing getter) is left out.
    }
  }
  return chain;
}

/**
 * Node's codes for a peer that cannot be reached or went away: refused, reset, timed out, no
 * route, broken pipe, and a host name that does not resolve (ENOTFOUND; EAI_AGAIN while the
 * resolver itself fails), which is what a stopped Docker Compose service looks like.
 */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when the value is an Error carrying one of `codes` as its `code`. */
export function isSocketError(value: unknown, codes: ReadonlySet<string> = SOCKET_ERROR_CODES): boolean {
  if (!isInstance(value, Error)) return false;
  const code = readString(value, 'code');
  return code !== undefined && codes.has(code);
}

/**
 * True when `test` accepts the value or anything in its `errorChain`; a test that throws on a
 * link (a Proxy, say) counts as "no" for that link. The shape of every client classifier.
 */
export function anyLink(error: unknown, test: (link: unknown) => boolean): boolean {
  return errorChain(error).some((link) => {
    try {
      return test(link);
    } catch {
      return false;
    }
  });
}

/** True when the value, or anything in its cause chain, is a Node socket error. */
export function hasSocketError(error: unknown, codes: ReadonlySet<string> = SOCKET_ERROR_CODES): boolean {
  return anyLink(error, (link) => isSocketError(link, codes));
}

/** The first dependency whose classifier accepts the value; a classifier that throws says no. */
export function unavailableDependency(error: unknown, classifiers: UnavailableClassifiers): string | undefined {
  for (const [dependency, classify] of classifiers) {
    try {
      if (classify(error) === true) return dependency;
    } catch {
      // A broken classifier must not turn an error reply into a crash.
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Mapping a thrown value to the contract's answer.
// ---------------------------------------------------------------------------------------------

function validationDetails(validation: readonly unknown[], location: string | undefined): { location?: string; field?: string; message?: string }[] {
  return validation.map((issue) => {
    const instancePath = readString(issue, 'instancePath') ?? '';
    const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
    return { location, field: path || undefined, message: readString(issue, 'message') };
  });
}

function describeValidation(details: { field?: string; message?: string }[], fallback: string): string {
  const first = details[0];
  if (!first?.message) return fallback;
  return first.field ? `${first.field}: ${first.message}` : first.message;
}

function respond(code: ErrorCode, message: string): ErrorResponse {
  return { status: ERROR_STATUS[code], body: { error: code, message }, headers: {} };
}

const internalError = (): ErrorResponse => respond('internal_error', 'Internal server error');

function appErrorResponse(error: AppError): ErrorResponse | undefined {
  const body = error.toBody();
  const status = error.statusCode;
  const headers = error.headers;
  if (!CONTRACT_STATUSES.has(status) || typeof body.message !== 'string' || ERROR_STATUS[body.error] !== status) return undefined;
  const safeHeaders: Record<string, string> = {};
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') safeHeaders[name] = value;
  }
  return { status, body, headers: safeHeaders };
}

function classify(error: unknown, classifiers: UnavailableClassifiers): ErrorResponse {
  if (isInstance(error, AppError)) {
    // An AppError's own message is meant for the client; a 5xx one (service_unavailable) too.
    const response = appErrorResponse(error as AppError);
    if (response) return response;
  }

  const validation = readProperty(error, 'validation');
  if (Array.isArray(validation)) {
    // Fastify's schema validation (Ajv or Zod): the issues, in the contract's details shape.
    const details = validationDetails(validation, readString(error, 'validationContext'));
    return { status: 400, body: { error: 'validation_error', message: describeValidation(details, 'Invalid request'), details }, headers: {} };
  }

  const code = readString(error, 'code');
  const message = readString(error, 'message');
  if (code === 'P2002') return respond('conflict', 'A record with these values already exists');
  if (code === 'P2025') return respond('not_found', 'Record not found');
  if (code?.startsWith('FST_JWT_')) return respond('invalid_token', 'Missing or invalid access token');

  const mapped = code === undefined ? undefined : CODE_BY_FASTIFY_ERROR.get(code);
  if (mapped) return respond(mapped, message ?? mapped);

  const dependency = unavailableDependency(error, classifiers);
  if (dependency !== undefined) return { ...respond('service_unavailable', UNAVAILABLE_MESSAGE), dependency };

  const status = readProperty(error, 'statusCode');
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500) {
    // A 4xx the contract has no code for (405, 406, 414, 416, ...) leaves as a 400, so the
    // status always matches the body's code.
    const statusCode = CODE_BY_STATUS.get(status);
    return statusCode
      ? { status, body: { error: statusCode, message: message ?? 'Bad request' }, headers: {} }
      : respond('validation_error', message ?? 'Bad request');
  }
  return internalError();
}

/**
 * The contract's status, body and headers for any thrown value. `classifiers` say which values
 * mean a dependency is out of reach (503); the app's registered ones are behind
 * `app.errorResponse`. Never throws: a value it cannot read is a 500 `internal_error`.
 */
export function toErrorResponse(error: unknown, classifiers: UnavailableClassifiers = new Map()): ErrorResponse {
  try {
    return classify(error, classifiers);
  } catch {
    return internalError();
  }
}

function isEmptyPayload(payload: unknown): boolean {
  return payload === undefined || payload === null || payload === '' || (Buffer.isBuffer(payload) && payload.length === 0);
}

/**
 * A plain, loggable summary of a value the logger's error serializer could not take (it writes
 * a marker property onto Errors, which fails on a frozen one; a Proxy can throw on any read).
 */
function describeThrown(error: unknown): Record<string, unknown> {
  let type: string = typeof error;
  try {
    if (typeof error === 'object' && error !== null) type = Object.prototype.toString.call(error);
  } catch {
    type = 'object (unreadable)';
  }
  const summary: Record<string, unknown> = { type };
  for (const key of ['name', 'message', 'code', 'stack'] as const) {
    const value = readProperty(error, key);
    if (typeof value === 'string' || typeof value === 'number') summary[key] = value;
  }
  if (typeof error === 'string' || typeof error === 'number' || typeof error === 'boolean') summary.value = error;
  return summary;
}

function logFailure(request: FastifyRequest, error: unknown, response: ErrorResponse): void {
  const { status, body, dependency } = response;
  try {
    if (status >= 500) request.log.error({ err: error, ...(dependency ? { dependency } : {}) }, 'request failed');
    else request.log.info({ code: body.error, status }, body.message);
    return;
  } catch {
    // The logger could not serialize the thrown value: log a summary of it instead.
  }
  try {
    if (status >= 500) request.log.error({ err: describeThrown(error), ...(dependency ? { dependency } : {}) }, 'request failed');
    else request.log.info({ code: body.error, status, thrown: describeThrown(error) }, body.message);
  } catch {
    // Logging must never stand between a failure and its answer.
  }
}

/** The app's answer for `error`: its registered classifiers are behind `app.errorResponse`. */
function responseFor(request: FastifyRequest, error: unknown): ErrorResponse {
  try {
    const server = request.server;
    if (typeof server.errorResponse === 'function') return server.errorResponse(error);
  } catch {
    // Fall back to the answer without classifiers.
  }
  return toErrorResponse(error);
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, response: ErrorResponse = responseFor(request, error)) {
  logFailure(request, error, response);
  const { status, body, headers } = response;
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
  const message = typeof error.code === 'string' && Object.hasOwn(FRAMEWORK_MESSAGES, error.code) ? FRAMEWORK_MESSAGES[error.code] : undefined;
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
  const classifiers = new Map<string, UnavailableClassifier>();
  app.decorate('treatAsUnavailable', (dependency: string, classifier: UnavailableClassifier): void => {
    if (typeof classifier !== 'function') throw new TypeError(`The unavailable classifier for ${dependency} is not a function`);
    const registered = classifiers.get(dependency);
    if (registered === classifier) return;
    if (registered) throw new Error(`Another unavailable classifier for ${dependency} is already registered`);
    classifiers.set(dependency, classifier);
  });
  app.decorate('errorResponse', (error: unknown): ErrorResponse => toErrorResponse(error, classifiers));
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) =>
    sendError(error, request, reply, toErrorResponse(error, classifiers)),
  );

  // Node answers an `Expect` other than 100-continue with a bare, bodiless 417 unless someone
  // listens for it. RFC 9110 lets a server ignore such an expectation: serve the request as usual.
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => app.routing(req, res));

  // HTTP/1.1 requires a Host header. Node's own check (off in app.ts) would answer an empty 400;
  // this one answers with the contract's body. Registered first, so it runs before any other hook.
  // Callback-style hooks here and below: no promise per request on every route.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.httpVersion === '1.1' && !request.headers.host) {
      closeUpgradeAfterReply(request, reply);
      return done(badRequest('The Host header is required'));
    }
    done();
  });

  // Safety net for error replies that code we do not own sends outside the contract: an empty
  // 404 from @fastify/websocket for a plain GET on a WebSocket-only route, @fastify/cors's
  // text/plain 400 "Invalid Preflight Request". They leave as the error body with the same status.
  app.addHook('onSend', (request, reply, payload, done) => {
    const status = reply.statusCode;
    const code = CODE_BY_STATUS.get(status) ?? (status >= 500 ? 'internal_error' : undefined);
    if (status < 400 || request.method === 'HEAD' || !code) return done(null, payload);
    const empty = isEmptyPayload(payload);
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (!empty && text === undefined) return done(null, payload); // a stream: already on its way
    if (!empty && String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return done(null, payload);
    const detail = status < 500 && text && text.length <= 200 ? text : (STATUS_CODES[status] ?? 'Error');
    const body: ErrorBody = { error: code, message: `${detail}: ${request.method} ${request.url.split('?')[0]}` };
    reply.header('content-type', 'application/json; charset=utf-8');
    done(null, JSON.stringify(body));
  });

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` };
    return reply.code(404).send(body);
  });
}

export default fp(errorsPlugin, { name: 'errors' });
