/** Events the friends module publishes (blocks publishes `ended` too when a block ends a friendship). */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    friendship_changed: { user_ids: [number, number]; status: 'accepted' | 'ended' };
  }
}

export {};
