import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redisDbIndex } from '../../lib/redis-url.ts';
import { PresenceFriendStore } from './presence.friends.ts';
import { PresenceHub } from './presence.hub.ts';
import { presenceChannel } from './presence.keys.ts';
import { HeartbeatMonitor } from './presence.monitor.ts';
import { PresenceQueries } from './presence.queries.ts';
import presenceRoutes from './presence.routes.ts';
import { PresenceService } from './presence.service.ts';
import { PresenceStore } from './presence.store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    presence: PresenceService;
    presenceQueries: PresenceQueries;
    /** SSE fan-out: the registry of local streams and the one presence subscription. */
    presenceHub: PresenceHub;
    /** Handles `user:online:*` expiries (keyspace notifications + sweeps). */
    presenceMonitor: HeartbeatMonitor;
  }
}

export interface PresenceModuleOptions {
  /** Interval of `: keep-alive` comments on streams (default 20 s; the contract asks for ≤ 30 s). */
  keepAliveMs?: number;
  /** A stream whose client has not drained for this long is dropped (default 60 s). */
  maxCongestedMs?: number;
  /** Safety-net sweep for unhandled expiries (default max(60 s, PRESENCE_TTL_S)). */
  sweepIntervalMs?: number;
  /** How often keys due to expire are touched so Redis expires them on time (default 250 ms). */
  reapIntervalMs?: number;
}

const DEFAULT_KEEP_ALIVE_MS = 20_000;
const DEFAULT_MAX_CONGESTED_MS = 60_000;

async function presenceModule(app: FastifyInstance, options: PresenceModuleOptions): Promise<void> {
  const ttlS = app.config.PRESENCE_TTL_S;
  const db = redisDbIndex(app.config.REDIS_URL);
  const presence = new PresenceService(new PresenceStore(app.redis, app.users, ttlS, presenceChannel(db)), ttlS, app.log);
  const friends = new PresenceFriendStore(app.db);
  app.decorate('presence', presence);
  app.decorate('presenceQueries', new PresenceQueries(presence, friends, app.users, app.relationships));

  // Per-instance connection names, so `CLIENT LIST` tells the instances' subscribers apart.
  const instanceTag = randomBytes(4).toString('hex');
  const hub = new PresenceHub({
    presence,
    friends,
    events: app.events,
    tokens: app.tokens,
    connectionName: `bigtech-chat-presence-${instanceTag}`,
    openSubscriber: (name) => app.createRedisConnection(name),
    log: app.log.child({ component: 'presence-hub' }),
    keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    maxCongestedMs: options.maxCongestedMs ?? DEFAULT_MAX_CONGESTED_MS,
  });
  const monitor = new HeartbeatMonitor({
    presence,
    control: app.redis,
    connectionName: `bigtech-chat-presence-monitor-${instanceTag}`,
    openSubscriber: (name) => app.createRedisConnection(name),
    db,
    log: app.log.child({ component: 'heartbeat-monitor' }),
    sweepIntervalMs: options.sweepIntervalMs ?? Math.max(60, ttlS) * 1000,
    fallbackSweepIntervalMs: Math.min(Math.max(1, Math.ceil(ttlS / 4)), 30) * 1000,
    reapIntervalMs: options.reapIntervalMs ?? 250,
  });
  // Profiles show MySQL's is_online/last_seen_at: every instance drops a user's cached one when
  // the publication that follows the write arrives (no separate event for it).
  hub.onStored((userId) => app.users.presenceStored([userId]));
  app.decorate('presenceHub', hub);
  app.decorate('presenceMonitor', monitor);
  app.metrics.gauge('chat_sse_streams', () => hub.stats().streams);
  app.metrics.gauge('chat_online_users', () => presence.onlineCount());

  // Side by side: while Redis is down each waits at most FIRST_SUBSCRIBE_WAIT_MS, so start is
  // held up that long in all, not once per subscription.
  app.addHook('onReady', async () => {
    await Promise.all([monitor.start(), hub.start()]);
  });
  // Open streams would keep the HTTP server from closing: end them first.
  app.addHook('preClose', async () => hub.closeStreams('Server is shutting down'));
  app.addHook('onClose', async () => {
    await hub.stop();
    await monitor.stop();
  });

  await app.register(presenceRoutes, { prefix: '/api/online-status' });
}

export default fp(presenceModule, {
  name: 'presence',
  dependencies: ['redis', 'prisma', 'users', 'events', 'auth', 'metrics'],
});
