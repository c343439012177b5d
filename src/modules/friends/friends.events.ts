/** Events the friends module publishes (blocks publishes `ended` too when a block ends a friendship). */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    friendship_changed: { user_ids: [number, number]; status: 'accepted' | 'ended' };
    /**
     * A request was sent (`pending`, `at` = when it was asked) or accepted (`at` = when). The
     * friendship row's id and `at` together name this one occurrence: a row asked again after a
     * rejection keeps its id but gets a new `at`.
     */
    friend_request_changed: { friendship_id: number; requester_id: number; addressee_id: number; status: 'pending' | 'accepted'; at: string };
  }
}

export {};
