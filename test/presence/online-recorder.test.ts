import { describe, expect, it } from 'vitest';
import { type OnlineChange, OnlineRecorder } from '../../src/modules/presence/presence.recorder.ts';

/** A write that the test finishes itself, to see what waits for what. */
function controlledWrites() {
  const calls: { changes: readonly OnlineChange[]; finish(error?: Error): void }[] = [];
  const write = (changes: readonly OnlineChange[]) =>
    new Promise<void>((resolve, reject) => calls.push({ changes, finish: (error) => (error ? reject(error) : resolve()) }));
  return { calls, write };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OnlineRecorder', () => {
  it('writes the changes of one turn together, the latest per user winning with an earlier last-seen stamp kept', async () => {
    const { calls, write } = controlledWrites();
    const recorder = new OnlineRecorder(write);
    const seen = new Date('2026-12-02T05:00:00.123Z');
    const settled: string[] = [];
    void recorder.record(1, true).then(() => settled.push('1 online'));
    void recorder.record(2, false, seen).then(() => settled.push('2 offline'));
    void recorder.record(2, true).then(() => settled.push('2 online'));
    await nextTurn();
    expect(calls.map((call) => call.changes)).toEqual([[{ id: 1, isOnline: true }, { id: 2, isOnline: true, lastSeenAt: seen }]]);
    expect(settled).toEqual([]);
    calls[0]?.finish();
    await nextTurn();
    expect(settled).toEqual(['1 online', '2 offline', '2 online']);
  });

  it('keeps one statement at a time: changes made meanwhile go in the next one, after it', async () => {
    const { calls, write } = controlledWrites();
    const recorder = new OnlineRecorder(write);
    const first = recorder.record(1, true);
    await nextTurn();
    const second = recorder.record(1, false, new Date(0));
    const third = recorder.record(3, true);
    await nextTurn();
    expect(calls).toHaveLength(1);
    calls[0]?.finish();
    await first;
    await nextTurn();
    expect(calls.map((call) => call.changes.map((change) => [change.id, change.isOnline]))).toEqual([[[1, true]], [[1, false], [3, true]]]);
    calls[1]?.finish(new Error('MySQL is away'));
    await expect(second).rejects.toThrow('MySQL is away');
    await expect(third).rejects.toThrow('MySQL is away');
  });
});
