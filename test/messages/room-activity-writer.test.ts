import { describe, expect, it } from 'vitest';
import { RETRY_FIRST_MS, RoomActivityWriter } from '../../src/modules/messages/room-activity.writer.ts';

/** The folding, retrying and settling of RoomActivityWriter on its own (the write is a recorder, not MySQL). */
describe('RoomActivityWriter', () => {
  const at = (ms: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, 0, ms));

  function writerWith(outcomes: ('ok' | 'fail')[]) {
    const writes: Map<number, Date>[] = [];
    const warnings: Record<string, unknown>[] = [];
    const writer = new RoomActivityWriter(
      async (times) => {
        writes.push(new Map(times));
        if ((outcomes[writes.length - 1] ?? 'ok') === 'fail') throw new Error('lock wait timeout');
      },
      { warn: (details) => warnings.push(details as Record<string, unknown>) },
    );
    return { writer, writes, warnings };
  }

  it('folds the times of one tick into one write, each room at its latest time', async () => {
    const { writer, writes } = writerWith([]);
    writer.record(1, at(5));
    writer.record(2, at(3));
    writer.record(1, at(9));
    writer.record(1, at(7));
    expect(writes).toHaveLength(0);
    await writer.settled();
    expect(writes).toEqual([new Map([[1, at(9)], [2, at(3)]])]);
    await writer.settled(); // nothing waiting: at once, no write
    expect(writes).toHaveLength(1);
  });

  it('folds what arrives during a write into the next one, and settled waits for that one', async () => {
    const { writer, writes } = writerWith([]);
    writer.record(1, at(1));
    await new Promise((resolve) => setImmediate(resolve)); // the first write is in flight
    writer.record(1, at(2));
    writer.record(3, at(4));
    await writer.settled();
    expect(writes).toEqual([new Map([[1, at(1)]]), new Map([[1, at(2)], [3, at(4)]])]);
  });

  it('logs a failed write with its rooms and retries it, folded with what came meanwhile, until it succeeds', async () => {
    const { writer, writes, warnings } = writerWith(['fail', 'fail', 'ok']);
    writer.record(7, at(1));
    await writer.settled(); // the first attempt failed: settled does not wait for the retry
    expect(writes).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ roomId: 7, roomIds: [7], retryInMs: RETRY_FIRST_MS });
    writer.record(8, at(2));
    writer.record(7, at(0)); // older than the failed time: the failed one is kept
    await expect.poll(() => writes.length, { timeout: 2000 }).toBe(3);
    expect(warnings[1]).toMatchObject({ roomIds: [7, 8], retryInMs: RETRY_FIRST_MS * 2 });
    expect(writes[2]).toEqual(new Map([[7, at(1)], [8, at(2)]]));
    await writer.settled();
    expect(warnings).toHaveLength(2);
  });

  it('close makes a last attempt at what is waiting, even while backing off', async () => {
    const { writer, writes } = writerWith(['fail', 'ok']);
    writer.record(4, at(1));
    await writer.settled();
    expect(writes).toHaveLength(1);
    await writer.close();
    expect(writes).toEqual([new Map([[4, at(1)]]), new Map([[4, at(1)]])]);
  });
});
