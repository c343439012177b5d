import type { BatchOutcome, CreateResult, NewMessage } from './store/message-store.ts';

/** The most messages one transaction stores; more wait for the next one. */
export const MAX_GROUP = 100;

interface Waiting {
  input: NewMessage;
  resolve: (result: CreateResult) => void;
  reject: (error: unknown) => void;
}

interface RoomQueue {
  waiting: Waiting[];
}

/**
 * Group commit per room in this process: sends to a room that arrive in the same tick, or
 * while the room's previous group is being stored, are stored together by one `commit` (one
 * transaction, one `seq` range). At most one group per room is in flight here; rooms are
 * independent. Each send's promise settles with its own outcome once its group is stored, so
 * a send is still answered only after its message is durable, and fails only for itself.
 */
export class GroupCommit {
  private readonly rooms = new Map<number, RoomQueue>();

  constructor(private readonly commit: (roomId: number, inputs: readonly NewMessage[]) => Promise<BatchOutcome[]>) {}

  submit(input: NewMessage): Promise<CreateResult> {
    return new Promise<CreateResult>((resolve, reject) => {
      const queued = this.rooms.get(input.roomId);
      if (queued) {
        queued.waiting.push({ input, resolve, reject });
        return;
      }
      const room: RoomQueue = { waiting: [{ input, resolve, reject }] };
      this.rooms.set(input.roomId, room);
      // The rest of this tick's sends to the room join the group first.
      setImmediate(() => void this.drain(input.roomId, room));
    });
  }

  /** Stores the room's groups one after another until nobody waits, then forgets the room. */
  private async drain(roomId: number, room: RoomQueue): Promise<void> {
    while (room.waiting.length > 0) {
      const group = room.waiting.splice(0, MAX_GROUP);
      const outcomes = await this.commit(
        roomId,
        group.map((waiting) => waiting.input),
      ).catch((error: unknown) => group.map((): BatchOutcome => ({ ok: false, error })));
      group.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) waiting.resolve(outcome.result);
        else waiting.reject(outcome ? outcome.error : new Error('the group commit gave no outcome for this message'));
      });
    }
    this.rooms.delete(roomId);
  }
}
