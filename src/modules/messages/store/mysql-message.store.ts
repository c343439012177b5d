import type { Db } from '../../../db/prisma.ts';
import type { MessageStore } from './message-store.ts';

/** Messages in the MySQL `messages` / `message_reactions` tables (the default without MongoDB). */
export class MysqlMessageStore implements MessageStore {
  readonly kind = 'mysql' as const;

  constructor(private readonly db: Db) {}

  async init(): Promise<void> {}

  async ping(): Promise<void> {
    await this.db.$queryRaw`SELECT 1 FROM messages LIMIT 1`;
  }

  async close(): Promise<void> {}
}
