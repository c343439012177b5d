import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type Pool, SqlError } from 'mariadb';
import { createMysqlClients, type Db } from '../db/prisma.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { anyLink, isInstance, isSocketError, readProperty, SOCKET_ERROR_CODES } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    /** The connection pool under `db`, for hot statements that skip Prisma's query layer. */
    mysqlPool: Pool;
  }
}

/**
 * True when a write broke a unique index: Prisma's P2002, or the driver's ER_DUP_ENTRY (1062)
 * on statements sent to the pool without Prisma. The one place that knows both shapes.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  return code === 'P2002' || code === 'ER_DUP_ENTRY' || errno === 1062;
}

/**
 * Prisma's codes for a database out of reach: P1001 can't reach the server, P1002 timed out,
 * P1008 operations timed out, P1017 server closed the connection, P2024 timed out fetching a
 * connection from the pool, P2037 too many connections (the adapter's TooManyConnections).
 */
const PRISMA_UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);

/**
 * Connection-level failures of the mariadb driver, by code and errno: its own (45xxx, in
 * node_modules/mariadb/lib/misc/errors.js `client`) for a pool that cannot hand out a
 * connection or is closed, a socket that closed, timed out or failed, a connection already
 * closed or destroyed; and the server's (node_modules/mariadb/lib/const/error-code.js) for
 * "too many connections", "shutting down" and "connection killed". Statement-level errors
 * (syntax, constraints, deadlocks, lock wait timeouts) are not here: they are bugs or
 * conflicts, not an outage.
 */
const MARIADB_UNAVAILABLE_ERRNO: Readonly<Record<string, number>> = {
  ER_CONNECTION_ALREADY_CLOSED: 45001,
  ER_CMD_NOT_EXECUTED_DESTROYED: 45004,
  ER_SOCKET_UNEXPECTED_CLOSE: 45009,
  ER_CONNECTION_TIMEOUT: 45012,
  ER_CMD_CONNECTION_CLOSED: 45013,
  ER_SOCKET: 45019,
  ER_SOCKET_TIMEOUT: 45026,
  ER_POOL_ALREADY_CLOSED: 45027,
  ER_GET_CONNECTION_TIMEOUT: 45028,
  ER_ADD_CONNECTION_CLOSED_POOL: 45035,
  ER_CLOSING_POOL: 45037,
  ER_PING_TIMEOUT: 45042,
  ER_POOL_NOT_INITIALIZED: 45060,
  ER_POOL_NO_CONNECTION: 45061,
  ER_CON_COUNT_ERROR: 1040,
  ER_SERVER_SHUTDOWN: 1053,
  ER_TOO_MANY_USER_CONNECTIONS: 1203,
  ER_CONNECTION_KILLED: 1927,
};
const MARIADB_UNAVAILABLE_CODES: ReadonlySet<string> = new Set(Object.keys(MARIADB_UNAVAILABLE_ERRNO));
const MARIADB_UNAVAILABLE_ERRNOS: ReadonlySet<number> = new Set(Object.values(MARIADB_UNAVAILABLE_ERRNO));

/** Driver-adapter error kinds Prisma maps to P1001, P1008 and P2037. */
const ADAPTER_UNAVAILABLE_KINDS: ReadonlySet<string> = new Set(['DatabaseNotReachable', 'SocketTimeout', 'TooManyConnections']);

/**
 * The one Prisma failure that says nothing but its message: an interactive `$transaction` that
 * got no connection within `maxWait` (MySQL down, or the pool exhausted) is a P2028 "Transaction
 * API error" like every misuse of a transaction, and Prisma drops the driver's error (it races
 * the pool's own acquire timeout, which is as long). Prisma exports no class for it, so its exact
 * message is the only way to tell it from an expired or already closed transaction.
 */
const PRISMA_TRANSACTION_START_TIMEOUT = 'Transaction API error: Unable to start a transaction in the given time.';

/**
 * @prisma/adapter-mariadb turns every mariadb SqlError into a DriverAdapterError whose `cause` is
 * a plain payload (`{ kind: 'mysql', code: <errno>, originalCode, message, state, cause: <the
 * driver's cause, as a message string> }`), and Prisma hands it on in a
 * PrismaClientKnownRequestError's `meta.driverAdapterError` (P2039 for model queries, P2010 for
 * raw ones). The class lives in @prisma/driver-adapter-utils, not a dependency of ours; Prisma
 * recognises it the same way: by its name and an object `cause`.
 */
function isUnavailableAdapterError(value: unknown): boolean {
  if (readProperty(value, 'name') !== 'DriverAdapterError') return false;
  const payload = readProperty(value, 'cause');
  const kind = readProperty(payload, 'kind');
  if (typeof kind !== 'string') return false;
  if (ADAPTER_UNAVAILABLE_KINDS.has(kind)) return true;
  const errno = readProperty(payload, 'code');
  return kind === 'mysql' && typeof errno === 'number' && MARIADB_UNAVAILABLE_ERRNOS.has(errno);
}

function isMysqlUnavailableLink(value: unknown): boolean {
  if (isInstance(value, Prisma.PrismaClientInitializationError)) return true;
  if (isInstance(value, Prisma.PrismaClientKnownRequestError)) {
    const code = readProperty(value, 'code');
    if (typeof code === 'string') {
      if (PRISMA_UNAVAILABLE_CODES.has(code)) return true;
      // A driver error the adapter could not map (a Node socket error: no errno/sqlMessage)
      // reaches us as a PrismaClientKnownRequestError carrying the original `code`.
      if (SOCKET_ERROR_CODES.has(code) || MARIADB_UNAVAILABLE_CODES.has(code)) return true;
      if (code === 'P2028' && readProperty(value, 'message') === PRISMA_TRANSACTION_START_TIMEOUT) return true;
    }
    return isUnavailableAdapterError(readProperty(readProperty(value, 'meta'), 'driverAdapterError'));
  }
  if (isUnavailableAdapterError(value)) return true;
  if (isInstance(value, SqlError)) {
    const code = readProperty(value, 'code');
    return typeof code === 'string' && MARIADB_UNAVAILABLE_CODES.has(code);
  }
  // A socket error from the driver (mariadb passes them on as they are, e.g. ECONNRESET mid-query),
  // alone or as the cause of a pool timeout.
  return isSocketError(value);
}

/**
 * True when an error means MySQL is out of reach (answered 503), judged by class and code: a
 * Prisma initialization error; a Prisma request error with a connection code or wrapping a
 * mariadb connection-level error; the mariadb driver's SqlError with such a code (statements sent
 * to the pool without Prisma); a Node socket error. Anywhere in the cause chain.
 */
export function isMysqlUnavailable(error: unknown): boolean {
  return anyLink(error, isMysqlUnavailableLink);
}

async function prismaPlugin(app: FastifyInstance): Promise<void> {
  const clients = createMysqlClients(app.config.DATABASE_URL);
  app.decorate('db', clients.db);
  app.decorate('mysqlPool', clients.pool);
  app.addHook('onClose', async () => clients.close());
  app.treatAsUnavailable('mysql', isMysqlUnavailable);
}

export default fp(prismaPlugin, { name: 'prisma', dependencies: ['config', 'errors'] });
