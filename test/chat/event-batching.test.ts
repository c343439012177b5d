import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/lib/domain-events.ts';
import { type App, useTwoTestApps } from '../helpers/app.ts';
import { eventually } from '../helpers/rooms.ts';

/**
 * Room events published in one tick go to Redis in one script and out in one publication (a
 * JSON array), in order, each with its own event id and kept in its room's history; an event
 * alone is published as itself. Two apps on one database and Redis db: the other instance hears
 * every event once.
 */
describe('room events coalesced per tick', () => {
  let a: App;
  let b: App;
  useTwoTestApps((first, second) => {
    a = first;
    b = second;
  });

  const read = (roomId: number, i: number): DomainEvent => ({
    type: 'read_updated',
    room_id: roomId,
    user_id: i,
    message_id: String(i),
    read_at: new Date(0).toISOString(),
  });

  it('one tick: one publication of all, in order, with increasing ids per room, every copy carrying its id; the once key still holds', async () => {
    const raw: string[] = [];
    const listener = a.redis.duplicate();
    await listener.subscribe(a.events.channel);
    listener.on('message', (_channel: string, message: string) => raw.push(message));
    const heard: DomainEvent[] = [];
    const stop = await b.events.subscribe((event) => {
      if (event.type === 'read_updated' && event.room_id >= 9_000_000) heard.push(event);
    });
    try {
      const [r1, r2] = [9_000_000 + Math.floor(Math.random() * 1000) * 2, 9_000_001 + Math.floor(Math.random() * 1000) * 2];
      const published = await Promise.all([
        a.events.publish(read(r1, 1)),
        a.events.publishOnce(`batch-test:${r1}`, read(r2, 2)),
        a.events.publish(read(r1, 3)),
        a.events.publishOnce(`batch-test:${r1}`, read(r2, 4)),
      ]);
      expect(published).toEqual([undefined, true, undefined, false]);
      await eventually(() => heard.length === 3);
      expect(heard.map((event) => (event as { user_id: number }).user_id)).toEqual([1, 2, 3]);
      // Other suites of this run publish on the same channel: only ours are counted.
      const batches = raw.filter((message) => message.startsWith('[') && message.includes(`"room_id":${r1}`));
      expect(batches).toHaveLength(1);
      const ids = heard.map((event) => event.event_id!);
      expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true);
      // Both of r1's events are in its history, in order.
      const history = await a.events.history.after(r1, ids[0]!);
      expect(history.kind === 'events' ? history.events.map((event) => event.event_id) : history).toEqual([ids[2]]);

      await a.events.publish(read(r1, 5));
      await eventually(() => heard.length === 4);
      const alone = raw.filter((message) => message.includes(`"room_id":${r1}`)).at(-1)!;
      expect(alone.startsWith('{"event_id":')).toBe(true);
    } finally {
      stop();
      listener.disconnect();
    }
  });
  it('publishMany: events that are not room events go out in one publication, each heard once by the other instance', async () => {
    const raw: string[] = [];
    const listener = a.redis.duplicate();
    await listener.subscribe(a.events.channel);
    listener.on('message', (_channel: string, message: string) => raw.push(message));
    const marker = 8_000_000 + Math.floor(Math.random() * 1_000_000);
    const heard: number[] = [];
    const stop = await b.events.subscribe((event) => {
      if (event.type === 'notifications_read' && event.unread_count === marker) heard.push(event.user_id);
    });
    const notice = (userId: number): DomainEvent => ({ type: 'notifications_read', user_id: userId, ids: 'all', read_at: new Date(0).toISOString(), unread_count: marker });
    try {
      await a.events.publishMany([notice(1), notice(2), notice(3)]);
      await eventually(() => heard.length === 3);
      expect(heard).toEqual([1, 2, 3]);
      expect(raw.filter((message) => message.includes(`"unread_count":${marker}`))).toHaveLength(1);
    } finally {
      stop();
      listener.disconnect();
    }
  });

  it('onOwnPublished: the publishing instance alone hears its events, once each; a once-keyed event already published is not heard', async () => {
    const roomId = 9_100_000 + Math.floor(Math.random() * 100_000);
    const own = { a: [] as number[], b: [] as number[] };
    const stops = [
      a.events.onOwnPublished((event) => event.type === 'read_updated' && event.room_id === roomId && own.a.push(event.user_id)),
      b.events.onOwnPublished((event) => event.type === 'read_updated' && event.room_id === roomId && own.b.push(event.user_id)),
    ];
    try {
      const key = `own-test:${roomId}`;
      expect(await Promise.all([a.events.publishOnce(key, read(roomId, 1)), a.events.publishOnce(key, read(roomId, 2))])).toEqual([true, false]);
      expect(await b.events.publishOnce(key, read(roomId, 3))).toBe(false);
      await b.events.publish(read(roomId, 4));
      expect(own).toEqual({ a: [1], b: [4] });
    } finally {
      for (const stop of stops) stop();
    }
  });
});
