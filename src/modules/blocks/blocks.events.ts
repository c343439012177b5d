/** Events the blocks module publishes. */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    block_changed: { blocker_id: number; blocked_id: number; blocked: boolean };
  }
}

export {};
