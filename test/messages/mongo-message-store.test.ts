import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { MongoMessageStore } from '../../src/modules/messages/store/mongo-message.store.ts';
import { messageStoreContract } from './message-store.contract.ts';

/** Runs only against a real MongoDB: there is no fake. */
const mongoUrl = process.env.MONGODB_URL;
if (!mongoUrl) console.warn('MongoDB message store tests skipped: MONGODB_URL is unset');

describe.skipIf(!process.env.MONGODB_URL)('MongoDB message store (set MONGODB_URL to run)', () => {
  let next = 1;
  const database = `bigtech_test_${randomBytes(4).toString('hex')}`;
  let store: MongoMessageStore;
  // The app's MongoClient belongs to the mongodb plugin; these tests own theirs.
  const client = new MongoClient(mongoUrl ?? 'mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 3000 });
  afterAll(async () => client.close());

  messageStoreContract('MongoDB', async () => {
    store = new MongoMessageStore(client.db(database));
    await store.init();
    const newId = async () => next++;
    return {
      store,
      newRoom: newId,
      newUser: newId,
      close: async () => {
        await store.dropDatabase();
        await store.close();
      },
    };
  });

  it('created the contract indexes at start-up', async () => {
    const probe = new MongoMessageStore(client.db(`${database}_idx`));
    try {
      await probe.init();
      const indexes = await probe.messages.indexes();
      const keys = indexes.map((index) => index.key);
      expect(keys).toEqual(
        expect.arrayContaining([
          { room_id: 1, created_at: -1, _id: -1 },
          { user_id: 1, created_at: -1 },
          { room_id: 1, user_id: 1, client_message_id: 1 },
        ]),
      );
      expect(indexes.find((index) => index.name === 'room_user_client_message')?.unique).toBe(true);
    } finally {
      await probe.dropDatabase();
      await probe.close();
    }
  });
});
