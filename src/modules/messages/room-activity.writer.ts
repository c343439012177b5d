interface Pending {
  at: Date;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface RoomWrites {
  /** The write that starts when the running one settles, carrying the latest time asked for meanwhile. */
  next: Pending | null;
}

/**
 * `rooms.last_message_at` after sends, at most one UPDATE in flight per room in this process.
 *
 * The UPDATE only moves the time forward, so the sends that arrive while one is running are
 * folded into a single next UPDATE with the latest of their times. A busy room then costs a
 * couple of UPDATEs however many messages arrive at once, instead of one per message queuing
 * on the room's row lock and on the connection pool (under a burst those queued UPDATEs timed
 * out after their messages were stored, and the sends were reported failed).
 *
 * `record` resolves once a write covering `at` succeeded, and rejects with that write's error.
 */
export class RoomActivityWriter {
  private readonly rooms = new Map<number, RoomWrites>();

  constructor(private readonly write: (roomId: number, at: Date) => Promise<void>) {}

  record(roomId: number, at: Date): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room) {
      const fresh: RoomWrites = { next: null };
      this.rooms.set(roomId, fresh);
      return this.run(roomId, fresh, at);
    }
    if (room.next) {
      if (at > room.next.at) room.next.at = at;
      return room.next.promise;
    }
    room.next = pending(at);
    return room.next.promise;
  }

  private async run(roomId: number, room: RoomWrites, at: Date): Promise<void> {
    try {
      await this.write(roomId, at);
    } finally {
      void this.drain(roomId, room);
    }
  }

  /** Runs the folded writes one after another until none is waiting, then forgets the room. */
  private async drain(roomId: number, room: RoomWrites): Promise<void> {
    for (let next = room.next; next; next = room.next) {
      room.next = null;
      try {
        await this.write(roomId, next.at);
        next.resolve();
      } catch (error) {
        next.reject(error);
      }
    }
    this.rooms.delete(roomId);
  }
}

function pending(at: Date): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every caller handles the outcome; this keeps a rejection nobody awaited yet from being "unhandled".
  promise.catch(() => {});
  return { at, promise, resolve, reject };
}
