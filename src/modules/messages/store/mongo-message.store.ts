import { type Collection, type Db as MongoDb, MongoClient } from 'mongodb';
import type { MessageStore } from './message-store.ts';

export const MESSAGES_COLLECTION = 'messages';

export interface MongoMessageDocument {
  room_id: number;
  user_id: number;
  content: string | null;
  message_type: string;
  attachment_url: string | null;
  reply_to: string | null;
  client_message_id: string | null;
  is_edited: boolean;
  edited_at: Date | null;
  is_deleted: boolean;
  reactions: Record<string, number[]>;
  created_at: Date;
}

/** Messages in MongoDB, collection `messages`, with the contract's indexes. */
export class MongoMessageStore implements MessageStore {
  readonly kind = 'mongodb' as const;
  private readonly client: MongoClient;
  private readonly database: MongoDb;
  readonly messages: Collection<MongoMessageDocument>;

  constructor(url: string) {
    this.client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 });
    this.database = this.client.db(new URL(url).pathname.slice(1) || 'bigtech_chat');
    this.messages = this.database.collection<MongoMessageDocument>(MESSAGES_COLLECTION);
  }

  async init(): Promise<void> {
    await this.client.connect();
    await this.messages.createIndexes([
      { key: { room_id: 1, created_at: -1 }, name: 'room_created' },
      { key: { user_id: 1, created_at: -1 }, name: 'user_created' },
      {
        key: { room_id: 1, user_id: 1, client_message_id: 1 },
        name: 'room_user_client_message',
        unique: true,
        partialFilterExpression: { client_message_id: { $type: 'string' } },
      },
      { key: { content: 'text' }, name: 'content_text' },
    ]);
  }

  async ping(): Promise<void> {
    await this.database.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
