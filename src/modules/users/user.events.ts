/** Events the users module publishes. */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    /** A profile field others see changed (name, status message, picture). */
    user_changed: { user_id: number };
  }
}

export {};
