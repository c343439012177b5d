/** Events the users module publishes. */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    /** A profile field others see changed (name, status message, picture). */
    user_changed: { user_id: number };
    /** MySQL's copy of these users' presence (`is_online`, `last_seen_at`) was written: cached profiles drop them. */
    user_presence_stored: { user_ids: number[] };
  }
}

export {};
