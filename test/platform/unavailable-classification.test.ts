import { SqlError } from 'mariadb';
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import {
  MongoClient,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type TopologyDescription,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMysqlClients } from '../../src/db/prisma.ts';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { errorChain, hasSocketError, toErrorResponse, unavailableDependency } from '../../src/plugins/errors.ts';
import { isMongoUnavailable } from '../../src/plugins/mongodb.ts';
import { isMysqlUnavailable } from '../../src/plugins/prisma.ts';
import { createRedis, isRedisUnavailable } from '../../src/plugins/redis.ts';
import { freePort, sleep, TcpProxy, waitUntil } from '../helpers/faults.ts';

/**
 * Each client plugin's "unavailable" classifier, judged on constructed driver errors and on
 * errors the real libraries produce against a closed port, a cut proxy and a closed pool (there
 * is no MongoDB server here: its errors come from a client pointed at nothing).
 */

const clientVersion = Prisma.prismaVersion.client;
const known = (code: string, message = `Prisma ${code}`, meta?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion, ...(meta ? { meta } : {}) });
const socketError = (code: string, syscall = 'connect') =>
  Object.assign(new Error(`${syscall} ${code} 127.0.0.1:1`), { code, errno: -1, syscall });
const sqlError = (errno: number, message = 'driver error', cause?: unknown) =>
  new SqlError(message, undefined, errno >= 45000, undefined, 'HY000', errno, undefined, undefined, cause === undefined ? undefined : { cause });
/** What @prisma/adapter-mariadb throws for a mariadb SqlError (see node_modules/@prisma/adapter-mariadb). */
const driverAdapterError = (payload: Record<string, unknown>) => Object.assign(new Error(String(payload.message ?? payload.kind)), { name: 'DriverAdapterError', cause: payload });
const adapterPayload = (errno: number, cause?: string) => ({
  originalCode: String(errno),
  originalMessage: 'pool failed to retrieve a connection from pool',
  kind: 'mysql',
  code: errno,
  message: 'pool failed to retrieve a connection from pool',
  state: 'HY000',
  cause,
});
/** The driver fills `reason` from its topology; `error` (when set) becomes the cause. */
const topology = (error?: Error) => ({ ...(error ? { error } : {}) }) as unknown as TopologyDescription;

const classifiers = { mysql: isMysqlUnavailable, redis: isRedisUnavailable, mongodb: isMongoUnavailable };
type Dependency = keyof typeof classifiers;

/** Values every classifier must refuse without throwing. */
function oddValues(): unknown[] {
  const circular: Error & { cause?: unknown } = new Error('circular');
  circular.cause = circular;
  const throwing = new Proxy(
    {},
    {
      get: () => {
        throw new Error('get');
      },
      getPrototypeOf: () => {
        throw new Error('getPrototypeOf');
      },
      has: () => {
        throw new Error('has');
      },
    },
  );
  const revocable = Proxy.revocable(new Error('revoked'), {});
  revocable.revoke();
  return [
    undefined,
    null,
    0,
    42,
    'ECONNREFUSED',
    Symbol('boom'),
    10n,
    true,
    {},
    [],
    { code: 'ECONNREFUSED' }, // not an Error: a socket error is one
    { code: 11000, message: 7 },
    Object.freeze(new Error('frozen')),
    circular,
    throwing,
    revocable.proxy,
    Object.defineProperty(new Error('getter'), 'code', {
      get() {
        throw new Error('code getter');
      },
    }),
    new Error('Something failed'),
    new TypeError('Cannot read properties of undefined'),
    // The old regexes' phrases, in errors of no client library's class or code: not an outage.
    new Error("pool timeout: Can't reach database, retrieve a connection from pool"),
  ];
}

describe('errorChain', () => {
  it('walks causes and AggregateError members once each, and stops on cycles', () => {
    const inner = socketError('ECONNREFUSED');
    const aggregate = new AggregateError([socketError('ECONNREFUSED'), inner], 'connect ECONNREFUSED ::1:1, 127.0.0.1:1');
    const outer = new Error('wrapped', { cause: aggregate });
    expect(errorChain(outer)).toEqual([outer, aggregate, aggregate.errors[0], inner]);

    const a: Error & { cause?: unknown } = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(errorChain(a)).toEqual([a, b]);
    expect(errorChain(undefined)).toEqual([]);
    expect(errorChain('text')).toEqual(['text']);
  });

  it('finds Node socket errors in a cause, not in look-alike plain objects', () => {
    expect(hasSocketError(new Error('x', { cause: socketError('EAI_AGAIN', 'getaddrinfo') }))).toBe(true);
    expect(hasSocketError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(hasSocketError(socketError('EACCES'))).toBe(false);
  });
});

describe('isMysqlUnavailable', () => {
  const yes: [string, unknown][] = [
    ['PrismaClientInitializationError', new Prisma.PrismaClientInitializationError("Can't reach database server", clientVersion)],
    ...['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037'].map((code): [string, unknown] => [`Prisma ${code}`, known(code)]),
    ['Prisma P2039 wrapping the pool timeout', known('P2039', 'Database error. Code: `45028`', { driverAdapterError: driverAdapterError(adapterPayload(45028, 'connect ECONNREFUSED 127.0.0.1:1')) })],
    ['Prisma P2010 wrapping a closed connection', known('P2010', 'Raw query failed. Code: `45013`', { driverAdapterError: driverAdapterError(adapterPayload(45013)) })],
    ['Prisma P2039 wrapping a closed pool', known('P2039', 'x', { driverAdapterError: driverAdapterError(adapterPayload(45027)) })],
    ['Prisma request error carrying a socket code', known('ECONNRESET', 'read ECONNRESET')],
    ['Prisma interactive transaction that got no connection', known('P2028', 'Transaction API error: Unable to start a transaction in the given time.')],
    ['a bare DriverAdapterError', driverAdapterError(adapterPayload(45028))],
    ['a DriverAdapterError for too many connections', driverAdapterError({ kind: 'TooManyConnections', cause: 'Too many connections' })],
    ['mariadb pool timeout (ER_GET_CONNECTION_TIMEOUT)', sqlError(45028, 'pool timeout: failed to retrieve a connection from pool after 2001ms')],
    ['mariadb socket closed (ER_SOCKET_UNEXPECTED_CLOSE)', sqlError(45009)],
    ['mariadb connection timeout (ER_CONNECTION_TIMEOUT)', sqlError(45012)],
    ['mariadb command on a closed connection (ER_CMD_CONNECTION_CLOSED)', sqlError(45013)],
    ['mariadb connection already closed (ER_CONNECTION_ALREADY_CLOSED)', sqlError(45001)],
    ['mariadb pool closed (ER_POOL_ALREADY_CLOSED)', sqlError(45027)],
    ['server: too many connections (ER_CON_COUNT_ERROR)', sqlError(1040, 'Too many connections')],
    ['server shutting down (ER_SERVER_SHUTDOWN)', sqlError(1053, 'Server shutdown in progress')],
    ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].map((code): [string, unknown] => [`socket ${code}`, socketError(code)]),
    ['socket error as the cause of a wrapper', new Error('query failed', { cause: socketError('ECONNREFUSED') })],
    ['Prisma error as the cause of a wrapper', new Error('store failed', { cause: known('P1001') })],
  ];
  it.each(yes)('%s: unavailable', (_name, error) => {
    expect(isMysqlUnavailable(error)).toBe(true);
  });

  const no: [string, unknown][] = [
    ['Prisma P2002 unique violation', known('P2002')],
    ['Prisma P2025 not found', known('P2025')],
    ['Prisma P2028 on an expired transaction', known('P2028', 'Transaction API error: Transaction already closed: A query cannot be executed on an expired transaction.')],
    ['Prisma P2039 wrapping a syntax error', known('P2039', 'x', { driverAdapterError: driverAdapterError({ ...adapterPayload(1064), message: 'You have an error in your SQL syntax' }) })],
    ['Prisma P2039 wrapping a deadlock', known('P2039', 'x', { driverAdapterError: driverAdapterError({ kind: 'TransactionWriteConflict' }) })],
    ['PrismaClientValidationError', new Prisma.PrismaClientValidationError('Argument `id` is missing.', { clientVersion })],
    ['mariadb duplicate entry', sqlError(1062, "Duplicate entry 'a' for key 'email'")],
    ['mariadb lock wait timeout', sqlError(1205, 'Lock wait timeout exceeded')],
    ['mariadb parse error', sqlError(1064, 'You have an error in your SQL syntax')],
    ['a Redis failure', new MaxRetriesPerRequestError(1)],
    ['a MongoDB failure', new MongoNetworkError('connection closed')],
    ['a DriverAdapterError look-alike without a payload', Object.assign(new Error('x'), { name: 'DriverAdapterError' })],
  ];
  it.each(no)('%s: not unavailable', (_name, error) => {
    expect(isMysqlUnavailable(error)).toBe(false);
  });
});

describe('isRedisUnavailable', () => {
  const yes: [string, unknown][] = [
    ['MaxRetriesPerRequestError', new MaxRetriesPerRequestError(1)],
    ['"Connection is closed."', new Error('Connection is closed.')],
    ['LOADING reply', new ReplyError('LOADING Redis is loading the dataset in memory')],
    ['MASTERDOWN reply', new ReplyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")],
    ['socket ECONNREFUSED', socketError('ECONNREFUSED')],
    ['connect ETIMEDOUT (ioredis connectTimeout)', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT', syscall: 'connect' })],
    ['MaxRetriesPerRequestError in a cause', new Error('rate limit check failed', { cause: new MaxRetriesPerRequestError(1) })],
  ];
  it.each(yes)('%s: unavailable', (_name, error) => {
    expect(isRedisUnavailable(error)).toBe(true);
  });

  class OtherError extends Error {}
  const no: [string, unknown][] = [
    ['WRONGTYPE reply', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['ERR reply', new ReplyError("ERR unknown command 'NOPE'")],
    ['an Error subclass that happens to say "Connection is closed."', new OtherError('Connection is closed.')],
    ['a message merely containing it', new Error('Connection is closed. (proxy)')],
    ['a MySQL failure', sqlError(45028)],
  ];
  it.each(no)('%s: not unavailable', (_name, error) => {
    expect(isRedisUnavailable(error)).toBe(false);
  });
});

describe('isMongoUnavailable', () => {
  const yes: [string, unknown][] = [
    ['MongoNetworkError', new MongoNetworkError('connection 1 to 127.0.0.1:27017 closed')],
    ['MongoNetworkTimeoutError', new MongoNetworkTimeoutError('connection timed out')],
    ['MongoServerSelectionError', new MongoServerSelectionError('Server selection timed out after 3000 ms', topology())],
    ['MongoServerSelectionError for a name that does not resolve', new MongoServerSelectionError('x', topology(socketError('ENOTFOUND', 'getaddrinfo')))],
    ['MongoOperationTimeoutError', new MongoOperationTimeoutError('Timed out during operation')],
    ['MongoTopologyClosedError', new MongoTopologyClosedError()],
    ['MongoClientClosedError', new MongoClientClosedError()],
    ['MongoServerError ShutdownInProgress (91)', new MongoServerError({ message: 'shutdown in progress', code: 91, codeName: 'ShutdownInProgress' })],
    ['MongoServerError NotWritablePrimary (10107)', new MongoServerError({ message: 'not primary', code: 10107 })],
    ['ENOTFOUND in a cause', new MongoNetworkError('getaddrinfo ENOTFOUND mongo', { cause: socketError('ENOTFOUND', 'getaddrinfo') })],
    ['bare ENOTFOUND in a cause', new Error('store failed', { cause: socketError('ENOTFOUND', 'getaddrinfo') })],
    ['EAI_AGAIN in a cause', new Error('store failed', { cause: socketError('EAI_AGAIN', 'getaddrinfo') })],
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
  ];
  it.each(yes)('%s: unavailable', (_name, error) => {
    expect(isMongoUnavailable(error)).toBe(true);
  });

  const no: [string, unknown][] = [
    ['MongoServerError duplicate key (11000)', new MongoServerError({ message: 'E11000 duplicate key error', code: 11000, codeName: 'DuplicateKey' })],
    ['MongoServerError BadValue (2)', new MongoServerError({ message: 'bad value', code: 2 })],
    ['MongoServerError without a code', new MongoServerError({ message: 'odd' })],
    ['a MySQL failure', sqlError(45028)],
  ];
  it.each(no)('%s: not unavailable', (_name, error) => {
    expect(isMongoUnavailable(error)).toBe(false);
  });
});

describe('every classifier on values of any shape', () => {
  it('refuses them and never throws', () => {
    for (const [dependency, classify] of Object.entries(classifiers) as [Dependency, (error: unknown) => boolean][]) {
      for (const [index, value] of oddValues().entries()) {
        expect(() => classify(value), `${dependency} #${index}`).not.toThrow();
        expect(classify(value), `${dependency} #${index}`).toBe(false);
      }
    }
  });

  it('composes: the first classifier that accepts names the dependency; a throwing one is skipped', () => {
    const registered = new Map<string, (error: unknown) => boolean>([
      [
        'broken',
        () => {
          throw new Error('classifier bug');
        },
      ],
      ...Object.entries(classifiers),
    ]);
    expect(unavailableDependency(sqlError(45028), registered)).toBe('mysql');
    expect(unavailableDependency(new MaxRetriesPerRequestError(1), registered)).toBe('redis');
    expect(unavailableDependency(new MongoNetworkError('closed'), registered)).toBe('mongodb');
    expect(unavailableDependency(new Error('bug'), registered)).toBeUndefined();
    expect(toErrorResponse(new MongoServerSelectionError('timed out', topology()), registered)).toMatchObject({ status: 503, dependency: 'mongodb' });
    // Without classifiers nothing is an outage: the errors plugin knows no client library.
    expect(toErrorResponse(sqlError(45028)).status).toBe(500);
  });
});

describe('errors the real client libraries produce', () => {
  const errors: Record<string, unknown> = {};
  const capture = async (name: string, task: () => Promise<unknown>) => {
    try {
      await task();
      errors[name] = 'no error';
    } catch (error) {
      errors[name] = error;
    }
  };
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    const closedPort = await freePort();
    const { connection } = parseMysqlUrl(inject('databaseUrl'));
    proxy = await TcpProxy.start({ host: connection.host ?? '127.0.0.1', port: connection.port ?? 3306 });
    const url = new URL(inject('databaseUrl'));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const viaProxy = createMysqlClients(url.toString(), 4);
    const refused = createMysqlClients(`mysql://root@127.0.0.1:${closedPort}/nothing_here`, 2);
    const redis = createRedis(`redis://127.0.0.1:${closedPort}/0`, 'classification-test');
    redis.on('error', () => {});
    const mongo = new MongoClient(`mongodb://127.0.0.1:${closedPort}/x`, { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });
    const mongoDns = new MongoClient('mongodb://mongo.invalid:27017/x', { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });

    await viaProxy.db.$queryRawUnsafe('SELECT 1');
    const midQuery = Promise.all([
      capture('prisma: connection reset mid-query', () => viaProxy.db.$queryRawUnsafe('SELECT SLEEP(3)')),
      capture('pool: connection reset mid-query', () => viaProxy.pool.query('SELECT SLEEP(3)')),
    ]);
    await sleep(300);
    proxy.cut('refuse');
    await Promise.all([
      midQuery,
      capture('prisma: model query, connection refused', () => refused.db.user.findFirst()),
      capture('prisma: raw query, connection refused', () => refused.db.$queryRawUnsafe('SELECT 1')),
      capture('prisma: interactive transaction, connection refused', () => refused.db.$transaction(async (tx) => tx.$queryRawUnsafe('SELECT 1'))),
      capture('pool: connection refused', () => refused.pool.query('SELECT 1')),
      capture('ioredis: command while Redis is unreachable', () => redis.get('x')),
      capture('mongodb: server selection, connection refused', () => mongo.db('x').command({ ping: 1 })),
      capture('mongodb: server selection, host name does not resolve', () => mongoDns.db('x').command({ ping: 1 })),
    ]);
    redis.disconnect();
    const closed = createRedis(inject('redisUrl'), 'classification-test-closed');
    await closed.ping();
    await closed.quit();
    await waitUntil(() => expect(closed.status).toBe('end'), 5000);
    await capture('ioredis: command on a closed connection', () => closed.get('x'));
    await Promise.all([refused.close(), viaProxy.close(), mongo.close(), mongoDns.close()]);
    await capture('prisma: pool closed', () => refused.db.user.findFirst());
    await capture('pool: pool closed', () => refused.pool.query('SELECT 1'));
  }, 30_000);

  afterAll(async () => proxy?.close());

  const expected: [string, Dependency][] = [
    ['prisma: connection reset mid-query', 'mysql'],
    ['pool: connection reset mid-query', 'mysql'],
    ['prisma: model query, connection refused', 'mysql'],
    ['prisma: raw query, connection refused', 'mysql'],
    ['prisma: interactive transaction, connection refused', 'mysql'],
    ['pool: connection refused', 'mysql'],
    ['prisma: pool closed', 'mysql'],
    ['pool: pool closed', 'mysql'],
    ['ioredis: command while Redis is unreachable', 'redis'],
    ['ioredis: command on a closed connection', 'redis'],
    ['mongodb: server selection, connection refused', 'mongodb'],
    ['mongodb: server selection, host name does not resolve', 'mongodb'],
  ];
  it.each(expected)('%s: unavailable for %s', (name, dependency) => {
    const error = errors[name];
    expect(error, name).toBeInstanceOf(Error);
    expect(classifiers[dependency](error), `${name}: ${String(error)}`).toBe(true);
    // A bare socket error is accepted by every classifier (each client lists Node's socket
    // codes), so the dependency named in the log is the first that accepts: not asserted here.
    expect(toErrorResponse(error, new Map(Object.entries(classifiers)))).toEqual({
      status: 503,
      body: { error: 'service_unavailable', message: 'A backing service is unavailable, try again shortly' },
      headers: {},
      dependency: expect.any(String),
    });
  });
});
