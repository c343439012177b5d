import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis, ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { CONNECTION_CLOSED_ERROR_MSG } from 'ioredis/built/utils/index.js';
import { anyLink, isInstance, isSocketError, readProperty } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
    /**
     * A new dedicated connection for subscriber (or blocking) use; closed with the app. Its
     * commands wait for Redis to come back instead of failing, and it reconnects forever.
     */
    createRedisConnection(name: string): Redis;
  }
}

/** Longest pause between reconnection attempts: Redis back means working again within ~1 s. */
export const MAX_RECONNECT_DELAY_MS = 1000;

export type RedisRole = 'command' | 'subscriber';

/**
 * `command`: the shared connection for requests. While Redis is down a queued command fails
 * (MaxRetriesPerRequestError, answered as a 503) at the second failed reconnection attempt at
 * the latest (ioredis flushes its offline queue every maxRetriesPerRequest + 1 attempts): with
 * attempts at most 1 s apart a request gets its 503 within about 2 s instead of hanging.
 *
 * `subscriber`: SUBSCRIBE must not fail because Redis happens to be down when it is sent (the
 * subscription would simply never exist): it waits in the offline queue until Redis answers,
 * and ioredis re-subscribes by itself after every reconnect (autoResubscribe).
 */
export function createRedis(url: string, name: string, role: RedisRole = 'command'): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: role === 'command' ? 1 : null,
    // A host that drops packets: give up on an attempt after 2 s (a refused port fails at once).
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    autoResubscribe: true,
    // Commands issued in the same tick by concurrent requests go out in one write.
    enableAutoPipelining: role === 'command',
  });
}

const QUIT_GRACE_MS = 1000;

/**
 * Closes a connection without ever hanging: QUIT when Redis answers (pending replies arrive
 * first), a plain disconnect when it does not (a QUIT queued behind commands waiting for
 * Redis to come back would wait as long as they do).
 */
export async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    connection.quit().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, QUIT_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  connection.disconnect();
}

/**
 * Redis error replies that mean "not serving right now" rather than a bad command: the first word
 * of a reply error is Redis's error code (LOADING: restarted and still reading its dataset;
 * MASTERDOWN: a replica cut off from its primary).
 */
const UNAVAILABLE_REPLY_CODES: ReadonlySet<string> = new Set(['LOADING', 'MASTERDOWN']);

function isRedisUnavailableLink(value: unknown): boolean {
  // A command queued while Redis was unreachable, flushed after maxRetriesPerRequest reconnects.
  if (isInstance(value, MaxRetriesPerRequestError)) return true;
  // A command on a connection that has ended (closed by us, or reconnection given up). ioredis
  // rejects it with a plain Error and no code; its own message constant is all there is, so the
  // check is for exactly that: a plain Error (no subclass) with exactly that message.
  if (isInstance(value, Error) && Object.getPrototypeOf(value) === Error.prototype) {
    if (readProperty(value, 'message') === CONNECTION_CLOSED_ERROR_MSG) return true;
  }
  if (isInstance(value, ReplyError)) {
    const message = readProperty(value, 'message');
    if (typeof message === 'string' && UNAVAILABLE_REPLY_CODES.has(message.split(' ', 1)[0] ?? '')) return true;
  }
  // connect ECONNREFUSED / ETIMEDOUT (ioredis's own connect timeout sets `code` too), ENOTFOUND...
  return isSocketError(value);
}

/**
 * True when an error means Redis is out of reach (answered 503), by class and code: ioredis's
 * MaxRetriesPerRequestError, its "Connection is closed." rejection, a LOADING/MASTERDOWN reply, a
 * Node socket error; anywhere in the cause chain.
 */
export function isRedisUnavailable(error: unknown): boolean {
  return anyLink(error, isRedisUnavailableLink);
}

async function redisPlugin(app: FastifyInstance): Promise<void> {
  app.treatAsUnavailable('redis', isRedisUnavailable);
  const connections: Redis[] = [];
  const open = (name: string, role: RedisRole): Redis => {
    const connection = createRedis(app.config.REDIS_URL, name, role);
    // Without a listener an 'error' event (every failed reconnection attempt) would crash the process.
    connection.on('error', (error: Error) => app.log.warn({ err: error, connection: name }, 'redis connection error'));
    connections.push(connection);
    return connection;
  };
  app.decorate('redis', open('bigtech-chat', 'command'));
  app.decorate('createRedisConnection', (name: string) => open(name, 'subscriber'));
  app.addHook('onClose', async () => {
    await Promise.all(connections.map((connection) => closeRedis(connection)));
  });
}

export default fp(redisPlugin, { name: 'redis', dependencies: ['config', 'errors'] });
