import type { AttachmentRow, AttachmentStore } from './attachment.store.ts';
import type { FileStorage } from './storage/index.ts';

/** An upload not sent by a message within this is deleted by the sweep. */
export const UNSENT_LIFETIME_MS = 24 * 3600_000;
/** A deletion whose files are still there after this (its instance failed or stopped) is finished by the sweep. */
export const STALE_DELETION_MS = 10 * 60_000;
const BATCH = 200;
/** Batches per sweep of each kind: a backlog is worked off over several sweeps. */
const MAX_BATCHES = 25;

export interface SweepResult {
  /** Unsent uploads older than UNSENT_LIFETIME_MS removed. */
  unsent: number;
  /** Earlier deletions finished. */
  finished: number;
}

const keysOf = (rows: readonly AttachmentRow[]) => rows.flatMap((row) => (row.thumbnailKey ? [row.storageKey, row.thumbnailKey] : [row.storageKey]));

/**
 * Deleting attachments: the rows are marked deleted first (their URLs answer 404 at once), then
 * the files go, then the rows. A failure in between leaves a marked row, which the sweep finishes.
 */
export class AttachmentCleanup {
  constructor(
    private readonly store: AttachmentStore,
    private readonly storage: FileStorage,
  ) {}

  async deleteOne(id: string): Promise<void> {
    await this.store.markDeleted([id], new Date());
    await this.removeFiles(await this.store.findDeleted([id]));
  }

  /** Every attachment of a deleted room, in batches; idempotent (room clean-ups are retried). */
  async deleteRoom(roomId: number): Promise<void> {
    await this.store.markRoomDeleted(roomId, new Date());
    for (;;) {
      const rows = await this.store.roomBatch(roomId, BATCH);
      if (rows.length === 0) return;
      await this.removeFiles(rows);
    }
  }

  async sweep(now = new Date()): Promise<SweepResult> {
    const result: SweepResult = { unsent: 0, finished: 0 };
    for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
      const ids = await this.store.unsentBefore(new Date(now.getTime() - UNSENT_LIFETIME_MS), BATCH);
      // Conditional on still being unsent: a send that claims one meanwhile keeps it.
      await this.store.markDeleted(ids, now, true);
      const rows = await this.store.findDeleted(ids);
      await this.removeFiles(rows);
      result.unsent += rows.length;
      if (ids.length < BATCH) break;
    }
    for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
      const rows = await this.store.deletedBefore(new Date(now.getTime() - STALE_DELETION_MS), BATCH);
      await this.removeFiles(rows);
      result.finished += rows.length;
      if (rows.length < BATCH) break;
    }
    return result;
  }

  private async removeFiles(rows: readonly AttachmentRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.storage.delete(keysOf(rows));
    await this.store.remove(rows.map((row) => row.id));
  }
}
