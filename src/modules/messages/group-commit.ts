import type { BatchOutcome, CreateResult, NewMessage } from './store/message-store.ts';

/** The most messages one transaction stores; more wait for the next one. */
export const MAX_GROUP = 100;

interface Waiting {
  input: NewMessage;
  resolve: (result: CreateResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit in this process: the sends that arrive in the same tick, or while the previous
 * group is being stored, are stored together by one `commit` (one transaction; each room's
 * messages get one `seq` range). One group is in flight at a time, so the groups grow with the
 * load: an idle server stores a send at once, a busy one a few dozen per transaction, and the
 * statements, round trips and commits per message fall as the load rises. Each send's promise
 * settles with its own outcome once its group is stored, so a send is still answered only after
 * its message is durable, and fails only for itself.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private running = false;

  constructor(private readonly commit: (inputs: readonly NewMessage[]) => Promise<BatchOutcome[]>) {}

  submit(input: NewMessage): Promise<CreateResult> {
    return new Promise<CreateResult>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.running) return;
      this.running = true;
      // The rest of this tick's sends join the group first.
      setImmediate(() => void this.drain());
    });
  }

  /** Stores groups one after another until nobody waits. */
  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0, MAX_GROUP);
      const outcomes = await this.commit(group.map((waiting) => waiting.input)).catch((error: unknown) =>
        group.map((): BatchOutcome => ({ ok: false, error })),
      );
      group.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) waiting.resolve(outcome.result);
        else waiting.reject(outcome ? outcome.error : new Error('the group commit gave no outcome for this message'));
      });
    }
    this.running = false;
  }
}
