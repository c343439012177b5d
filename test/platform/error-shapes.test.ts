import { Writable } from 'node:stream';
import { SqlError } from 'mariadb';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import {
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  type TopologyDescription,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../src/lib/errors.ts';
import mongodbPlugin from '../../src/plugins/mongodb.ts';
import { type App, testConfig } from '../helpers/app.ts';

/**
 * Whatever a route throws, the answer is the contract's error body `{error, message, details?}`
 * with the status of its code: never Fastify's default `{statusCode, error, message}`, never an
 * internal message in a 5xx, never a crash in the error handler or in its logging. The real app
 * (its plugins register their "unavailable" classifiers) plus one test route that throws a value
 * of each shape, with a real logger writing to memory, so logging is exercised too.
 */

const SECRET = 'SELECT password_hash FROM users -- /app/src/db.ts:12';
const INTERNAL = { error: 'internal_error', message: 'Internal server error' };
const UNAVAILABLE = { error: 'service_unavailable', message: 'A backing service is unavailable, try again shortly' };

const clientVersion = Prisma.prismaVersion.client;
const socketError = (code: string, syscall = 'connect') => Object.assign(new Error(`${syscall} ${code} ${SECRET}`), { code, syscall });
const throwing = (what: string) => () => {
  throw new Error(`${what} ${SECRET}`);
};

function circularCause(): Error {
  const a: Error & { cause?: unknown } = new Error(`a ${SECRET}`);
  const b = new Error(`b ${SECRET}`, { cause: a });
  a.cause = b;
  return a;
}

function selfCause(): Error {
  const error: Error & { cause?: unknown } = new Error(SECRET);
  error.cause = error;
  return error;
}

/** A Proxy whose every trap throws: even `instanceof` and `in` fail on it. */
function hostileProxy(target: object = {}): object {
  const trap = throwing('trap');
  return new Proxy(target, {
    get: trap,
    has: trap,
    getPrototypeOf: trap,
    getOwnPropertyDescriptor: trap,
    ownKeys: trap,
    set: trap,
    defineProperty: trap,
    deleteProperty: trap,
    isExtensible: trap,
  });
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable(new Error(SECRET), {});
  revoke();
  return proxy;
}

class ErrorWithThrowingName extends Error {
  override get name(): string {
    throw new Error('name getter');
  }
}

type Shape = { make: () => unknown; status: number; code: ErrorCode; message?: string };
const internal = (make: () => unknown): Shape => ({ make, status: 500, code: 'internal_error', message: INTERNAL.message });
const unavailable = (make: () => unknown): Shape => ({ make, status: 503, code: 'service_unavailable', message: UNAVAILABLE.message });

/** Values no classifier and no mapping knows: each must be a plain 500 `internal_error`. */
const UNKNOWN_SHAPES: Record<string, Shape> = {
  'Error with a numeric code': internal(() => Object.assign(new Error(SECRET), { code: 11000 })),
  'Error with an object code': internal(() => Object.assign(new Error(SECRET), { code: { startsWith: 1 } })),
  'Error with a prototype-key code': internal(() => Object.assign(new Error(SECRET), { code: 'constructor' })),
  'Error with a __proto__ code': internal(() => Object.assign(new Error(SECRET), { code: '__proto__' })),
  'Error without a message': internal(() => new Error()),
  'object without a message': internal(() => ({})),
  'object with a numeric message': internal(() => ({ message: 42 })),
  'Error with an object message': internal(() => Object.assign(new Error(), { message: { text: SECRET } })),
  'a string': internal(() => SECRET),
  'an empty string': internal(() => ''),
  null: internal(() => null),
  undefined: internal(() => undefined),
  'a number': internal(() => 42),
  NaN: internal(() => Number.NaN),
  'a bigint': internal(() => 10n),
  'a boolean': internal(() => false),
  'a symbol': internal(() => Symbol(SECRET)),
  'a function': internal(() => () => SECRET),
  'an array': internal(() => [new Error(SECRET)]),
  'getters that throw': internal(() =>
    Object.defineProperties(new Error(SECRET), {
      code: { get: throwing('code getter') },
      message: { get: throwing('message getter') },
      statusCode: { get: throwing('statusCode getter') },
      validation: { get: throwing('validation getter') },
      cause: { get: throwing('cause getter') },
      stack: { get: throwing('stack getter') },
    }),
  ),
  'a name getter that throws': internal(() => new ErrorWithThrowingName(SECRET)),
  'a toJSON that throws': internal(() => Object.assign(new Error(SECRET), { toJSON: throwing('toJSON') })),
  'a cause function that throws': internal(() => Object.assign(new Error(SECRET), { cause: throwing('cause()') })),
  'a Proxy that throws on every trap': internal(() => hostileProxy()),
  'a Proxy of an Error that throws on every trap': internal(() => hostileProxy(new Error(SECRET))),
  'a revoked Proxy': internal(revokedProxy),
  'a frozen Error': internal(() => Object.freeze(new Error(SECRET))),
  'a frozen object': internal(() => Object.freeze({ message: SECRET, code: 'E_FROZEN' })),
  'a null-prototype object': internal(() => Object.assign(Object.create(null) as object, { message: SECRET })),
  'an Error whose cause is itself': internal(selfCause),
  'an Error with a circular cause chain': internal(circularCause),
  "statusCode '404' (a string)": internal(() => Object.assign(new Error(SECRET), { statusCode: '404' })),
  'statusCode 999': internal(() => Object.assign(new Error(SECRET), { statusCode: 999 })),
  'statusCode NaN': internal(() => Object.assign(new Error(SECRET), { statusCode: Number.NaN })),
  'statusCode 200': internal(() => Object.assign(new Error(SECRET), { statusCode: 200 })),
  'statusCode -1': internal(() => Object.assign(new Error(SECRET), { statusCode: -1 })),
  'statusCode 404.5': internal(() => Object.assign(new Error(SECRET), { statusCode: 404.5 })),
  'statusCode Infinity': internal(() => Object.assign(new Error(SECRET), { statusCode: Number.POSITIVE_INFINITY })),
  'statusCode 502': internal(() => Object.assign(new Error(SECRET), { statusCode: 502 })),
  'status 404 (not statusCode)': internal(() => Object.assign(new Error(SECRET), { status: 404 })),
  'validation that is a string': internal(() => Object.assign(new Error(SECRET), { validation: 'nope' })),
  'validation that is an object': internal(() => Object.assign(new Error(SECRET), { validation: { length: 1, 0: { message: SECRET } } })),
  'validation that is null': internal(() => Object.assign(new Error(SECRET), { validation: null })),
  'an AppError with a code outside the contract': internal(() => new AppError('teapot' as ErrorCode, SECRET)),
  'a MongoServerError (numeric code)': internal(() => new MongoServerError({ message: `E11000 duplicate key ${SECRET}`, code: 11000, codeName: 'DuplicateKey' })),
  'a mariadb SqlError (duplicate entry)': internal(() => new SqlError(`Duplicate entry ${SECRET}`, SECRET, false, undefined, '23000', 1062)),
  'a Prisma validation error': internal(() => new Prisma.PrismaClientValidationError(SECRET, { clientVersion })),
  'a socket-code look-alike that is not an Error': internal(() => ({ code: 'ECONNREFUSED', message: SECRET })),
};

/** Values a client plugin's classifier says mean "unavailable": each a 503. */
const UNAVAILABLE_SHAPES: Record<string, Shape> = {
  'PrismaClientInitializationError': unavailable(() => new Prisma.PrismaClientInitializationError(`Can't reach database server ${SECRET}`, clientVersion)),
  'Prisma P1001': unavailable(() => new Prisma.PrismaClientKnownRequestError(SECRET, { code: 'P1001', clientVersion })),
  'Prisma P2024 (pool timeout)': unavailable(() => new Prisma.PrismaClientKnownRequestError(SECRET, { code: 'P2024', clientVersion })),
  'mariadb SqlError pool timeout (ER_GET_CONNECTION_TIMEOUT)': unavailable(
    () => new SqlError(`pool timeout: failed to retrieve a connection from pool ${SECRET}`, undefined, false, undefined, 'HY000', 45028),
  ),
  'mariadb SqlError socket closed (ER_SOCKET_UNEXPECTED_CLOSE)': unavailable(() => new SqlError(SECRET, undefined, true, undefined, '08S01', 45009)),
  'ioredis MaxRetriesPerRequestError': unavailable(() => new MaxRetriesPerRequestError(1)),
  'ioredis "Connection is closed."': unavailable(() => new Error('Connection is closed.')),
  'MongoNetworkError': unavailable(() => new MongoNetworkError(SECRET)),
  'MongoNetworkTimeoutError': unavailable(() => new MongoNetworkTimeoutError(SECRET)),
  'MongoServerSelectionError': unavailable(() => new MongoServerSelectionError(SECRET, {} as TopologyDescription)),
  'MongoOperationTimeoutError': unavailable(() => new MongoOperationTimeoutError(SECRET)),
  'MongoServerError ShutdownInProgress (91)': unavailable(() => new MongoServerError({ message: SECRET, code: 91 })),
  'ENOTFOUND in a cause': unavailable(() => new Error(SECRET, { cause: socketError('ENOTFOUND', 'getaddrinfo') })),
  'EAI_AGAIN in a cause': unavailable(() => new Error(SECRET, { cause: socketError('EAI_AGAIN', 'getaddrinfo') })),
  'ECONNREFUSED': unavailable(() => socketError('ECONNREFUSED')),
  'ECONNREFUSED from both addresses (AggregateError)': unavailable(() => new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], SECRET)),
  'an unavailable error under a circular cause': unavailable(() => {
    const error = circularCause();
    (error.cause as Error & { cause?: unknown }).cause = new MaxRetriesPerRequestError(1);
    return new Error(SECRET, { cause: error });
  }),
};

/** Values with a contract mapping of their own: unchanged behaviour. */
const MAPPED_SHAPES: Record<string, Shape> = {
  'an AppError': { make: () => new AppError('not_found', 'Room 42 not found'), status: 404, code: 'not_found', message: 'Room 42 not found' },
  'a frozen AppError': { make: () => Object.freeze(new AppError('conflict', 'Already friends')), status: 409, code: 'conflict', message: 'Already friends' },
  'a service_unavailable AppError': { make: () => new AppError('service_unavailable', 'Search is down'), status: 503, code: 'service_unavailable', message: 'Search is down' },
  'an Error with statusCode 404': { make: () => Object.assign(new Error('No such thing'), { statusCode: 404 }), status: 404, code: 'not_found', message: 'No such thing' },
  'an Error with statusCode 405 (no contract code)': { make: () => Object.assign(new Error('Method not allowed'), { statusCode: 405 }), status: 400, code: 'validation_error' },
  'a 404 with a numeric message': { make: () => ({ statusCode: 404, message: 7 }), status: 404, code: 'not_found', message: 'Bad request' },
  'Prisma P2002': { make: () => new Prisma.PrismaClientKnownRequestError(SECRET, { code: 'P2002', clientVersion }), status: 409, code: 'conflict' },
  'Prisma P2025': { make: () => new Prisma.PrismaClientKnownRequestError(SECRET, { code: 'P2025', clientVersion }), status: 404, code: 'not_found' },
  'a JWT error': { make: () => Object.assign(new Error(SECRET), { code: 'FST_JWT_BAD_REQUEST', statusCode: 400 }), status: 401, code: 'invalid_token' },
  'a Fastify media-type error with a numeric message': {
    make: () => ({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415, message: 1 }),
    status: 415,
    code: 'unsupported_media_type',
  },
  'validation issues of odd shapes': {
    make: () => ({ validation: [null, { instancePath: 5, message: { x: 1 } }], validationContext: 7, statusCode: 400 }),
    status: 400,
    code: 'validation_error',
    message: 'Invalid request',
  },
};

const SHAPES: Record<string, Shape> = { ...UNKNOWN_SHAPES, ...UNAVAILABLE_SHAPES, ...MAPPED_SHAPES };

const logLines: string[] = [];
let app: App;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  app = await buildApp(testConfig({ LOG_LEVEL: 'info' }), { logger: { level: 'info', stream } });
  // The lead registers the mongodb plugin in app.ts; until then the test does.
  if (!app.hasPlugin('mongodb')) await app.register(mongodbPlugin);
  app.treatAsUnavailable('broken-test-classifier', () => {
    throw new Error('a classifier with a bug');
  });
  app.get<{ Params: { shape: string } }>('/api/test/throw/:shape', async (request) => {
    throw SHAPES[request.params.shape]?.make();
  });
  app.get<{ Params: { shape: string } }>('/api/test/throw-sync/:shape', (request) => {
    throw SHAPES[request.params.shape]?.make();
  });
  await app.ready();
});

afterAll(async () => app?.close());

function expectContractBody(body: unknown, status: number, name: string): asserts body is { error: ErrorCode; message: string } {
  expect(body, name).toBeTypeOf('object');
  const record = body as Record<string, unknown>;
  expect(Object.keys(record).every((key) => ['error', 'message', 'details'].includes(key)), `${name}: keys ${Object.keys(record)}`).toBe(true);
  expect(record, name).not.toHaveProperty('statusCode');
  expect(typeof record.error, name).toBe('string');
  expect(Object.keys(ERROR_STATUS), name).toContain(record.error);
  expect(ERROR_STATUS[record.error as ErrorCode], `${name}: status matches the code`).toBe(status);
  expect(typeof record.message, name).toBe('string');
  if ('details' in record) expect(Array.isArray(record.details), name).toBe(true);
}

describe.each(['throw', 'throw-sync'])('a route that %ss', (kind) => {
  it.each(Object.entries(SHAPES))('%s', async (name, shape) => {
    const res = await app.inject({ url: `/api/test/${kind}/${encodeURIComponent(name)}` });
    expect(res.headers['content-type'], name).toMatch(/^application\/json/);
    const body = res.json();
    expect(res.statusCode, `${name}: ${res.body}`).toBe(shape.status);
    expectContractBody(body, res.statusCode, name);
    expect(body.error, name).toBe(shape.code);
    if (shape.message !== undefined) expect(body.message, name).toBe(shape.message);
    expect(res.body, name).not.toContain('password_hash');
    expect(res.body, name).not.toContain('db.ts');
    if (res.statusCode >= 500 && shape !== MAPPED_SHAPES['a service_unavailable AppError']) {
      expect(body, name).toEqual(res.statusCode === 503 ? UNAVAILABLE : INTERNAL);
    }

    // The failure was logged, and logging it did not throw (else the answer would be Fastify's).
    const requestId = res.headers['x-request-id'];
    const lines = logLines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string; level?: number; dependency?: string });
    const failure = lines.find((line) => line.reqId === requestId && line.msg !== 'request completed');
    expect(failure, `${name}: a log line for the failure`).toBeDefined();
    if (res.statusCode >= 500) {
      expect(failure?.msg, name).toBe('request failed');
      expect(failure?.level, name).toBe(50);
    }
  });
});

describe('which dependency a 503 is logged for', () => {
  it.each([
    ['mariadb SqlError pool timeout (ER_GET_CONNECTION_TIMEOUT)', 'mysql'],
    ['PrismaClientInitializationError', 'mysql'],
    ['ioredis MaxRetriesPerRequestError', 'redis'],
    ['MongoServerSelectionError', 'mongodb'],
  ])('%s: %s', async (name, dependency) => {
    const res = await app.inject({ url: `/api/test/throw/${encodeURIComponent(name)}` });
    expect(res.statusCode).toBe(503);
    const line = logLines.map((text) => JSON.parse(text) as { reqId?: string; dependency?: string }).find((entry) => entry.reqId === res.headers['x-request-id'] && entry.dependency);
    expect(line?.dependency).toBe(dependency);
  });
});

describe('app.errorResponse', () => {
  it('gives the same answer as the HTTP error handler, for WebSocket and SSE callers', () => {
    expect(app.errorResponse(new MaxRetriesPerRequestError(1))).toMatchObject({ status: 503, body: UNAVAILABLE, dependency: 'redis' });
    expect(app.errorResponse(new MongoNetworkError(SECRET))).toMatchObject({ status: 503, body: UNAVAILABLE, dependency: 'mongodb' });
    expect(app.errorResponse(hostileProxy())).toEqual({ status: 500, body: INTERNAL, headers: {} });
    expect(app.errorResponse(new AppError('forbidden', 'Not yours'))).toEqual({ status: 403, body: { error: 'forbidden', message: 'Not yours' }, headers: {} });
  });

  it('refuses a second, different classifier under a taken name, and accepts the same one again', async () => {
    const { isMongoUnavailable } = await import('../../src/plugins/mongodb.ts');
    expect(() => app.treatAsUnavailable('mongodb', isMongoUnavailable)).not.toThrow();
    expect(() => app.treatAsUnavailable('mongodb', () => true)).toThrow(/already registered/);
  });
});
