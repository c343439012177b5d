import { compareEventIds } from '../../plugins/event-history.ts';
import type { SharedFrame } from './chat.frames.ts';

export interface HeldFrame {
  frame: SharedFrame;
  eventId: string | undefined;
}

/**
 * Live frames of rooms a subscriber is catching up on (replaying history after `since`). The
 * subscriber is in the room's live set before history is read, so no event falls between the
 * two; what arrives meanwhile waits here and is let through after the replay, without the
 * events the replay already gave (by event id), so each event reaches the client exactly once.
 *
 * The live copy of a replayed event can also arrive after the replay ended: Redis appends and
 * publishes in one step, but the subscriber connection may hear of it later than the command
 * connection read the history. So the last replayed id stays as a floor, and a live event at
 * or below it is dropped (event ids only grow within a room).
 */
export class CatchUpBuffer {
  // Made on first use: every socket has a buffer, few ever catch up (an idle socket's bytes count).
  private heldByRoom: Map<number, HeldFrame[]> | undefined;
  private floorsByRoom: Map<number, string> | undefined;

  private get held(): Map<number, HeldFrame[]> {
    return (this.heldByRoom ??= new Map());
  }

  private get floors(): Map<number, string> {
    return (this.floorsByRoom ??= new Map());
  }

  hold(roomId: number): void {
    this.held.set(roomId, []);
  }

  /** True when the frame was taken (held while catching up, or dropped as replayed already); else the caller sends it. */
  offer(roomId: number, frame: SharedFrame, eventId: string | undefined): boolean {
    if (!this.heldByRoom && !this.floorsByRoom) return false;
    const frames = this.held.get(roomId);
    if (frames) {
      frames.push({ frame, eventId });
      return true;
    }
    const floor = this.floors.get(roomId);
    if (floor === undefined || eventId === undefined) return false;
    if (compareEventIds(eventId, floor) <= 0) return true;
    // A newer live event: every later one is newer still, so the floor has done its job (and
    // live delivery stops paying for the comparison).
    this.floors.delete(roomId);
    return false;
  }

  /** Ends the catch-up: the held frames newer than `replayedUpTo` (all, when undefined), in order. */
  release(roomId: number, replayedUpTo: string | undefined): HeldFrame[] {
    const frames = this.held.get(roomId) ?? [];
    this.held.delete(roomId);
    if (replayedUpTo !== undefined) this.floors.set(roomId, replayedUpTo);
    return frames.filter(({ eventId }) => replayedUpTo === undefined || eventId === undefined || compareEventIds(eventId, replayedUpTo) > 0);
  }

  drop(roomId: number): void {
    this.heldByRoom?.delete(roomId);
    this.floorsByRoom?.delete(roomId);
  }
}
