/** Events the users module publishes: a profile field others see changed (name, status message, picture). */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    user_changed: { user_id: number };
  }
}

export {};
