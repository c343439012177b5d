/**
 * Domain events: every state change other features (SSE presence, WebSocket fan-out) react to.
 * They travel through Redis pub/sub (src/plugins/events.ts), so every instance sees every event.
 * Add new variants here; `type` is the discriminant.
 */
export type DomainEvent =
  | { type: 'friendship_changed'; user_ids: [number, number]; status: 'accepted' | 'ended' }
  | { type: 'block_changed'; blocker_id: number; blocked_id: number; blocked: boolean };

export type DomainEventType = DomainEvent['type'];
export type DomainEventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;
