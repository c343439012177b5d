export type MessageStoreKind = 'mysql' | 'mongodb';

/**
 * Where messages live. Two adapters implement it: MongoDB (when MONGODB_URL is set) and MySQL
 * through Prisma. test/messages/message-store.contract.ts runs the same suite against both.
 */
export interface MessageStore {
  readonly kind: MessageStoreKind;
  /** Prepares the store (indexes); called once at start-up. */
  init(): Promise<void>;
  /** Cheap round trip used by the health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
