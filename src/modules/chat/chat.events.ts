/** Signals of live WebSocket rooms (no stored state behind them), published by the chat module. */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    typing: { room_id: number; user_id: number; is_typing: boolean };
    /** A user's first socket entered the room or their last one left it (over all instances). */
    room_occupancy: { room_id: number; user_id: number; event: 'USER_CONNECTED' | 'USER_DISCONNECTED' };
  }
}

export {};
