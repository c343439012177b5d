import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/lib/domain-events.ts';
import { domainEventsChannel } from '../../src/plugins/events.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { RedisServerProcess, sleep, waitUntil } from '../helpers/faults.ts';

/**
 * The domain event bus against Redis faults, on a private redis-server: its channel is scoped
 * by the Redis db index (deployments or test runs sharing one server never see each other's
 * events), and an app started while Redis is down starts anyway, in bounded time, and
 * subscribes (events, presence, keyspace notifications) by itself once Redis is up.
 */

let redis: RedisServerProcess;
const apps: App[] = [];

beforeAll(async () => {
  redis = await RedisServerProcess.start();
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await redis?.stop();
});

async function appOn(db: number): Promise<App> {
  const app = await createTestApp({ REDIS_URL: redis.url(db) });
  apps.push(app);
  return app;
}

function record(app: App): Promise<{ events: DomainEvent[]; stop: () => void }> {
  const events: DomainEvent[] = [];
  return app.events.subscribe((event) => events.push(event)).then((stop) => ({ events, stop }));
}

const typing = (roomId: number): DomainEvent => ({ type: 'typing', room_id: roomId, user_id: 1, is_typing: true });

describe('domain event bus', () => {
  it('is scoped by Redis db index: other dbs on the same server hear nothing', async () => {
    const [one, otherOne, two, zero] = await Promise.all([appOn(1), appOn(1), appOn(2), appOn(0)]);
    expect(one.events.channel).toBe(domainEventsChannel(1));
    expect(zero.events.channel).toBe('domain:events');
    const heard = await Promise.all([one, otherOne, two, zero].map(record));

    await one.events.publish(typing(101));
    await two.events.publish(typing(202));
    await zero.events.publish(typing(303));
    await waitUntil(() => {
      expect(heard[0]!.events).toHaveLength(1);
      expect(heard[1]!.events).toHaveLength(1);
      expect(heard[2]!.events).toHaveLength(1);
      expect(heard[3]!.events).toHaveLength(1);
    }, 2000);
    await sleep(200);
    expect(heard.map((h) => h.events.map((event) => (event as { room_id: number }).room_id))).toEqual([[101], [101], [202], [303]]);
  });

  it('an app started while Redis is down starts in bounded time and subscribes once Redis is up', async () => {
    const publisher = await appOn(3);
    await redis.kill();

    const started = Date.now();
    const late = await appOn(3);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(late.events.isSubscribed).toBe(false);
    expect((await late.inject({ url: '/api/health' })).statusCode).toBe(503);
    const heard = await record(late);

    await redis.start();
    // No manual step: the bus, the presence hub and the heartbeat monitor all subscribe.
    await waitUntil(() => {
      expect(late.events.isSubscribed).toBe(true);
      expect(late.presenceHub.isSubscribed).toBe(true);
      expect(late.presenceMonitor.stats()).toMatchObject({ notificationsEnabled: true, setups: expect.any(Number) });
      expect(late.presenceMonitor.stats().setups).toBeGreaterThanOrEqual(1);
    }, 5000);
    expect((await late.inject({ url: '/api/health' })).statusCode).toBe(200);

    // Events published by another instance arrive (the publisher reconnected too).
    await waitUntil(async () => {
      await publisher.events.publish(typing(404));
      await waitUntil(() => expect(heard.events.some((event) => (event as { room_id: number }).room_id === 404)).toBe(true), 500);
    }, 5000, 0);
  });
});
