/** Events the auth module publishes: a logout revokes the token on every instance. */
declare module '../../lib/domain-events.ts' {
  interface DomainEventMap {
    token_revoked: { jti: string; user_id: number };
  }
}

export {};
