import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';

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

async function redisPlugin(app: FastifyInstance): Promise<void> {
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

export default fp(redisPlugin, { name: 'redis', dependencies: ['config'] });
