import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../src/plugins/redis.ts';
import { RedisSubscription, type RedisSubscriptionOptions } from '../../src/plugins/redis-subscription.ts';
import { freePort } from '../helpers/faults.ts';
import { eventually, testRedis } from './support.ts';

/**
 * The one helper behind the event bus, the presence hub and the heartbeat monitor: a
 * subscription on a dedicated connection that survives reconnects and reports them.
 */

const log = pino({ level: 'silent' });
const admin = testRedis();
const open: RedisSubscription[] = [];
const connections: Redis[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((subscription) => subscription.close()));
  for (const connection of connections.splice(0)) connection.disconnect();
});
afterAll(() => admin.disconnect());

interface Recorded {
  subscription: RedisSubscription;
  messages: [string, string][];
  calls: string[];
  name: string;
}

function subscription(url: string, options: Partial<RedisSubscriptionOptions> = {}): Recorded {
  const name = `test-subscription-${randomBytes(4).toString('hex')}`;
  const messages: [string, string][] = [];
  const calls: string[] = [];
  const created = new RedisSubscription({
    label: 'test messages',
    connect: () => {
      const connection = createRedis(url, name, 'subscriber');
      connection.on('error', () => undefined);
      connections.push(connection);
      return connection;
    },
    channels: [`${name}:channel`],
    onMessage: (message, channel) => messages.push([channel, message]),
    onSubscribed: () => void calls.push('subscribed'),
    onInterrupted: () => void calls.push('interrupted'),
    onRestored: () => void calls.push('restored'),
    log,
    ...options,
  });
  open.push(created);
  return { subscription: created, messages, calls, name };
}

async function killClient(name: string): Promise<void> {
  const list = String(await admin.client('LIST'));
  const id = /\bid=(\d+)/.exec(list.split('\n').find((line) => line.includes(` name=${name} `)) ?? '')?.[1];
  if (!id) throw new Error(`no Redis client named ${name}`);
  await admin.client('KILL', 'ID', id);
}

describe('RedisSubscription', () => {
  it('subscribes on start, delivers its channels only, and resubscribes after the connection drops', async () => {
    const { subscription: sub, messages, calls, name } = subscription(inject('redisUrl'));
    await sub.start();
    expect(sub.isSubscribed).toBe(true);
    expect(calls).toEqual(['subscribed']);
    await admin.publish(`${name}:channel`, 'one');
    await admin.publish(`${name}:other`, 'ignored');
    await eventually(() => expect(messages).toEqual([[`${name}:channel`, 'one']]));

    await killClient(name);
    await eventually(() => expect(calls).toEqual(['subscribed', 'interrupted', 'subscribed', 'restored']), 5000);
    expect(sub.isSubscribed).toBe(true);
    await admin.publish(`${name}:channel`, 'two');
    await eventually(() => expect(messages.map(([, message]) => message)).toEqual(['one', 'two']));
  });

  it('supports patterns', async () => {
    const name = `test-pattern-${randomBytes(4).toString('hex')}`;
    const { subscription: sub, messages } = subscription(inject('redisUrl'), { channels: [], patterns: [`${name}:*`] });
    await sub.start();
    await admin.publish(`${name}:a`, 'x');
    await eventually(() => expect(messages).toEqual([[`${name}:a`, 'x']]));
  });

  it('holds start() up for at most the first-subscribe wait while Redis is unreachable, and closes without hanging', async () => {
    const { subscription: sub, calls } = subscription(`redis://127.0.0.1:${await freePort()}/0`, { firstSubscribeWaitMs: 300 });
    const started = Date.now();
    await sub.start();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(sub.isSubscribed).toBe(false);
    const again = Date.now();
    await sub.start(); // the wait is spent: at once
    expect(Date.now() - again).toBeLessThan(50);
    const closing = Date.now();
    await sub.close();
    expect(Date.now() - closing).toBeLessThan(500);
    expect(calls).toEqual([]);
  });
});
