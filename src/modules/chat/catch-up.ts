import { compareEventIds } from '../../plugins/event-history.ts';

export interface HeldFrame {
  frame: string;
  eventId: string | undefined;
}

/**
 * Live frames of rooms a subscriber is catching up on (replaying history after `since`). The
 * subscriber is in the room's live set before history is read, so no event falls between the
 * two; what arrives meanwhile waits here and is let through after the replay, without the
 * events the replay already gave (by event id), so each event reaches the client exactly once.
 */
export class CatchUpBuffer {
  private readonly held = new Map<number, HeldFrame[]>();

  hold(roomId: number): void {
    this.held.set(roomId, []);
  }

  /** True when the frame was held (the room is catching up); the caller sends it otherwise. */
  offer(roomId: number, frame: string, eventId: string | undefined): boolean {
    const frames = this.held.get(roomId);
    if (!frames) return false;
    frames.push({ frame, eventId });
    return true;
  }

  /** Ends the catch-up: the held frames newer than `replayedUpTo` (all, when undefined), in order. */
  release(roomId: number, replayedUpTo: string | undefined): HeldFrame[] {
    const frames = this.held.get(roomId) ?? [];
    this.held.delete(roomId);
    return frames.filter(({ eventId }) => replayedUpTo === undefined || eventId === undefined || compareEventIds(eventId, replayedUpTo) > 0);
  }

  drop(roomId: number): void {
    this.held.delete(roomId);
  }
}
