import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
    /** A new connection for blocking or subscriber use; closed with the app. */
    createRedisConnection(name: string): Redis;
  }
}

export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    // Fail fast while Redis is down (the request gets a 503) instead of queueing for long.
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}

async function redisPlugin(app: FastifyInstance): Promise<void> {
  const connections: Redis[] = [];
  const open = (name: string): Redis => {
    const connection = createRedis(app.config.REDIS_URL, name);
    connection.on('error', (error: Error) => app.log.warn({ err: error, connection: name }, 'redis connection error'));
    connections.push(connection);
    return connection;
  };
  app.decorate('redis', open('bigtech-chat'));
  app.decorate('createRedisConnection', open);
  app.addHook('onClose', async () => {
    await Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
  });
}

export default fp(redisPlugin, { name: 'redis', dependencies: ['config'] });
