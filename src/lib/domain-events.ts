/**
 * Domain events: every state change other features (SSE presence, WebSocket fan-out) react to.
 * They travel through Redis pub/sub (src/plugins/events.ts), so every instance sees every event.
 *
 * This file names no feature: each module declares the events it publishes by augmenting
 * `DomainEventMap` (event type → payload without `type`) in its own `*.events.ts`, e.g.
 *
 *   declare module '../../lib/domain-events.ts' {
 *     interface DomainEventMap { block_changed: { blocker_id: number; blocked_id: number; blocked: boolean } }
 *   }
 */
export interface DomainEventMap {}

export type DomainEventType = keyof DomainEventMap;

/**
 * The union of every declared event, discriminated by `type`. `event_id` is set on delivery for
 * events kept in their room's history (see EventBus.keepInRoomHistory).
 */
export type DomainEvent = { [T in DomainEventType]: { type: T; event_id?: string } & DomainEventMap[T] }[DomainEventType];

export type DomainEventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;
