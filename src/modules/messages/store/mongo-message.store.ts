import { type Collection, type Db as MongoDb, type Filter, MongoBulkWriteError, MongoServerError, ObjectId, type WithId } from 'mongodb';
import { ensureIndexes, type IndexSpec } from './mongo-indexes.ts';
import {
  type BatchOutcome,
  type CreateResult,
  firstOfEachKey,
  repeatOutcome,
  escapeRegExp,
  type MessagePage,
  type MessageStore,
  toMessagePage,
  type MessageType,
  type NewMessage,
  normalizeReactions,
  type PageRequest,
  REACTION_KINDS,
  type ReactionKind,
  type Reactions,
  type RoomSummary,
  type RoomSummaryQuery,
  type StoredMessage,
} from './message-store.ts';

export const MESSAGES_COLLECTION = 'messages';
/** `{_id: room_id, last_seq}`: the last `seq` given out per room. */
export const SEQUENCES_COLLECTION = 'message_sequences';
/** `{_id: name}` of each one-time data migration that ran (or is running) on this database. */
export const MIGRATIONS_COLLECTION = 'store_migrations';

interface SequenceDocument {
  _id: number;
  last_seq: number;
}

interface MigrationDocument {
  _id: string;
  started_at: Date;
}

export interface MongoMessageDocument {
  room_id: number;
  /** Absent only on documents written before `seq` existed, until init() numbers them. */
  seq?: number;
  user_id: number;
  content: string | null;
  message_type: MessageType;
  attachment_url: string | null;
  /** Absent on documents written before attachments existed: read as null. */
  attachment_id?: string | null;
  reply_to: string | null;
  client_message_id: string | null;
  is_edited: boolean;
  edited_at: Date | null;
  is_deleted: boolean;
  deleted_at: Date | null;
  reactions: Reactions;
  created_at: Date;
  /** 1 on insert, +1 per change. Absent on documents written before versions existed: read as 1. */
  version?: number;
}

type MessageDoc = WithId<MongoMessageDocument>;

const DUPLICATE_KEY = 11000;
const OBJECT_ID_PATTERN = /^[0-9a-f]{24}$/;
/** Newest first: the room_seq index's order. */
const NEWEST_FIRST = { seq: -1 } as const;
const SEQ_MIGRATION = 'message_seq_v1';
const MIGRATION_BATCH = 1000;

const MESSAGE_INDEXES: readonly IndexSpec[] = [
  // The contract's {room_id, created_at desc}, with _id so that equal timestamps still have one order.
  { key: { room_id: 1, created_at: -1, _id: -1 }, name: 'room_created' },
  // History, cursors and unread counts.
  { key: { room_id: 1, seq: -1 }, name: 'room_seq', unique: true },
  { key: { user_id: 1, created_at: -1 }, name: 'user_created' },
  {
    key: { room_id: 1, user_id: 1, client_message_id: 1 },
    name: 'room_user_client_message',
    unique: true,
    partialFilterExpression: { client_message_id: { $type: 'string' } },
  },
];
/**
 * `version + 1` inside a pipeline update, counting a missing version as 1 (where `$inc` would
 * make it 1, no newer than before). Changes are pipeline updates for this, so constants are
 * wrapped in `$literal`: a pipeline would read user text such as "$field" as a field path.
 */
const NEXT_VERSION = { $add: [{ $ifNull: ['$version', 1] }, 1] };

function clientKey(roomId: number, userId: number, clientMessageId: string | null): string {
  return `${roomId}:${userId}:${clientMessageId ?? ''}`;
}

function newDocument(input: NewMessage, seq: number, createdAt: Date): MessageDoc {
  return {
    _id: new ObjectId(),
    room_id: input.roomId,
    seq,
    user_id: input.userId,
    content: input.content,
    message_type: input.messageType,
    attachment_url: input.attachmentUrl,
    attachment_id: input.attachmentId ?? null,
    reply_to: input.replyTo,
    client_message_id: input.clientMessageId,
    is_edited: false,
    edited_at: null,
    is_deleted: false,
    deleted_at: null,
    reactions: {},
    created_at: createdAt,
    version: 1,
  };
}

function toStored(doc: MessageDoc): StoredMessage {
  return {
    id: doc._id.toHexString(),
    roomId: doc.room_id,
    seq: doc.seq ?? 0,
    userId: doc.user_id,
    content: doc.content,
    messageType: doc.message_type,
    attachmentUrl: doc.attachment_url,
    attachmentId: doc.attachment_id ?? null,
    replyTo: doc.reply_to,
    clientMessageId: doc.client_message_id,
    isEdited: doc.is_edited,
    editedAt: doc.edited_at,
    isDeleted: doc.is_deleted,
    reactions: normalizeReactions(
      REACTION_KINDS.flatMap((reaction) => (doc.reactions?.[reaction] ?? []).map((userId) => ({ userId, reaction }))),
    ),
    createdAt: doc.created_at,
    version: doc.version ?? 1,
  };
}

/**
 * Messages in MongoDB, collection `messages`, with the contract's indexes. A message's position
 * is its `seq`, from a per-room counter document (`message_sequences`, `$inc`); history, cursors
 * and unread counts walk the room_seq index.
 *
 * Without multi-document transactions (a standalone mongod has none) the counter and the insert
 * are two writes, which leaves two narrow windows MySQL's store does not have: two sends to one
 * room may commit in the other order than their `seq` (for the time between one's `$inc` and its
 * insert), and a send that loses a race on its client_message_id leaves its `seq` unused (a gap;
 * a resend found before `$inc` takes none).
 */
export class MongoMessageStore implements MessageStore {
  readonly kind = 'mongodb' as const;
  readonly messages: Collection<MongoMessageDocument>;
  private readonly sequences: Collection<SequenceDocument>;

  /** `database` belongs to the caller's MongoClient (the mongodb plugin's), which it closes. */
  constructor(private readonly database: MongoDb) {
    this.messages = this.database.collection<MongoMessageDocument>(MESSAGES_COLLECTION);
    this.sequences = this.database.collection<SequenceDocument>(SEQUENCES_COLLECTION);
  }

  /** Numbers documents written before `seq` existed, then brings the indexes to their definitions. */
  async init(): Promise<void> {
    await this.numberLegacyMessages();
    await ensureIndexes(this.messages, MESSAGE_INDEXES);
  }

  async ping(): Promise<void> {
    await this.database.command({ ping: 1 });
  }

  /** Nothing to close: the client is the mongodb plugin's. */
  async close(): Promise<void> {}

  /** Drops the whole database (tests only). */
  async dropDatabase(): Promise<void> {
    await this.database.dropDatabase();
  }

  isValidId(id: string): boolean {
    return OBJECT_ID_PATTERN.test(id);
  }

  async create(input: NewMessage): Promise<CreateResult> {
    // A resend is found before a `seq` is taken for it.
    const earlier = await this.findByClientMessageId(input);
    if (earlier) return { message: toStored(earlier), created: false };
    const doc = newDocument(input, await this.nextSeq(input.roomId), new Date());
    try {
      await this.messages.insertOne(doc);
      return { message: toStored(doc), created: true };
    } catch (error) {
      if (!(error instanceof MongoServerError) || error.code !== DUPLICATE_KEY || input.clientMessageId === null) throw error;
      const first = await this.findByClientMessageId(input);
      if (!first) throw error;
      return { message: toStored(first), created: false };
    }
  }

  /**
   * Group commit without transactions: resends are looked up first (one query), each room's
   * counter takes its new ones' numbers in one `$inc` by their count, and one unordered
   * `insertMany` stores them. A document that fails alone fails only its message (a duplicate
   * key from a resend raced in meanwhile gives the first message); its number stays unused, the
   * same gap as in `create`.
   */
  async createMany(inputs: readonly NewMessage[]): Promise<BatchOutcome[]> {
    const { firsts, sharedWith } = firstOfEachKey(inputs);
    const outcomes = new Map<number, BatchOutcome>();
    const earlier = await this.findResends(firsts.map((i) => inputs[i]!));
    for (const i of firsts) {
      const first = earlier.get(clientKey(inputs[i]!.roomId, inputs[i]!.userId, inputs[i]!.clientMessageId));
      if (first) outcomes.set(i, { ok: true, result: { message: toStored(first), created: false } });
    }
    const fresh = firsts.filter((i) => !outcomes.has(i));
    if (fresh.length > 0) {
      const seqs = await this.takeSeqs(fresh.map((i) => inputs[i]!));
      const createdAt = new Date();
      const docs = fresh.map((i, k) => newDocument(inputs[i]!, seqs[k]!, createdAt));
      const failed = await this.insertEach(docs);
      for (const [k, i] of fresh.entries()) outcomes.set(i, await this.outcomeOf(inputs[i]!, docs[k]!, failed.get(k)));
    }
    return inputs.map((_, i) => (sharedWith[i] === i ? outcomes.get(i)! : repeatOutcome(outcomes.get(sharedWith[i]!)!)));
  }

  /** Numbers for the batch, in batch order per room: one `$inc` by its count per room. */
  private async takeSeqs(batch: readonly NewMessage[]): Promise<number[]> {
    const counts = new Map<number, number>();
    for (const input of batch) counts.set(input.roomId, (counts.get(input.roomId) ?? 0) + 1);
    const next = new Map<number, number>();
    await Promise.all(
      [...counts].map(async ([roomId, count]) => {
        next.set(roomId, (await this.nextSeq(roomId, count)) - count + 1);
      }),
    );
    return batch.map((input) => {
      const seq = next.get(input.roomId)!;
      next.set(input.roomId, seq + 1);
      return seq;
    });
  }

  /** Inserts every document it can; returns the errors of those it could not, by index. */
  private async insertEach(docs: MessageDoc[]): Promise<Map<number, MongoServerError>> {
    try {
      await this.messages.insertMany(docs, { ordered: false });
      return new Map();
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      return new Map(writeErrors.map((writeError) => [writeError.index, new MongoServerError({ message: writeError.errmsg ?? 'insert failed', code: writeError.code })]));
    }
  }

  private async outcomeOf(input: NewMessage, doc: MessageDoc, error: MongoServerError | undefined): Promise<BatchOutcome> {
    if (!error) return { ok: true, result: { message: toStored(doc), created: true } };
    const first = error.code === DUPLICATE_KEY ? await this.findByClientMessageId(input) : null;
    return first ? { ok: true, result: { message: toStored(first), created: false } } : { ok: false, error };
  }

  private async findResends(batch: readonly NewMessage[]): Promise<Map<string, MessageDoc>> {
    const keyed = batch.flatMap((input) =>
      input.clientMessageId === null ? [] : [{ room_id: input.roomId, user_id: input.userId, client_message_id: input.clientMessageId }],
    );
    if (keyed.length === 0) return new Map();
    const docs = await this.messages.find({ client_message_id: { $type: 'string' }, $or: keyed }).toArray();
    return new Map(docs.map((doc) => [clientKey(doc.room_id, doc.user_id, doc.client_message_id), doc]));
  }

  /** `$type: 'string'` repeats the partial index's filter, so the planner can use that index. */
  private findByClientMessageId(input: NewMessage): Promise<MessageDoc | null> {
    if (input.clientMessageId === null) return Promise.resolve(null);
    return this.messages.findOne({
      room_id: input.roomId,
      user_id: input.userId,
      client_message_id: { $eq: input.clientMessageId, $type: 'string' },
    });
  }

  /** Takes `count` numbers from the room's counter; returns the last of them. */
  private async nextSeq(roomId: number, count = 1): Promise<number> {
    const counter = await this.sequences.findOneAndUpdate(
      { _id: roomId },
      { $inc: { last_seq: count } },
      { upsert: true, returnDocument: 'after' },
    );
    if (!counter) throw new Error(`no sequence document for room ${roomId} after an upsert`);
    return counter.last_seq;
  }

  async findById(roomId: number, id: string): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const doc = await this.messages.findOne({ _id: new ObjectId(id), room_id: roomId });
    return doc ? toStored(doc) : null;
  }

  async page(roomId: number, request: PageRequest): Promise<MessagePage> {
    const filter: Filter<MongoMessageDocument> = {
      room_id: roomId,
      ...(request.beforeSeq !== undefined ? { seq: { $lt: request.beforeSeq } } : {}),
    };
    const docs = await this.messages.find(filter).sort(NEWEST_FIRST).limit(request.limit + 1).toArray();
    return toMessagePage(docs.map(toStored), request.limit);
  }

  async editContent(roomId: number, id: string, content: string, at: Date): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    // One atomic update that returns the document as it left it: its version is this edit's.
    const doc = await this.messages.findOneAndUpdate(
      { _id: new ObjectId(id), room_id: roomId, is_deleted: false },
      [{ $set: { content: { $literal: content }, is_edited: { $literal: true }, edited_at: { $literal: at }, version: NEXT_VERSION } }],
      { returnDocument: 'after' },
    );
    return doc ? toStored(doc) : null;
  }

  async softDelete(roomId: number, id: string, at: Date): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const doc = await this.messages.findOneAndUpdate(
      { _id: new ObjectId(id), room_id: roomId, is_deleted: false },
      [
        {
          $set: {
            is_deleted: { $literal: true },
            deleted_at: { $literal: at },
            content: { $literal: null },
            attachment_url: { $literal: null },
            attachment_id: { $literal: null },
            version: NEXT_VERSION,
          },
        },
      ],
      { returnDocument: 'after' },
    );
    // Deleted already (or unknown): as it is.
    return doc ? toStored(doc) : this.findById(roomId, id);
  }

  async toggleReaction(roomId: number, id: string, userId: number, reaction: ReactionKind): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const field = `$reactions.${reaction}`;
    const current = { $ifNull: [field, []] };
    // One atomic pipeline update: remove the user when present, append otherwise, and bump the version.
    const doc = await this.messages.findOneAndUpdate(
      { _id: new ObjectId(id), room_id: roomId },
      [
        {
          $set: {
            [`reactions.${reaction}`]: {
              $cond: [{ $in: [userId, current] }, { $setDifference: [current, [userId]] }, { $concatArrays: [current, [userId]] }],
            },
            version: NEXT_VERSION,
          },
        },
      ],
      { returnDocument: 'after' },
    );
    return doc ? toStored(doc) : null;
  }

  async search(roomId: number, text: string, limit: number): Promise<StoredMessage[]> {
    const docs = await this.messages
      .find({ room_id: roomId, is_deleted: false, content: { $regex: escapeRegExp(text), $options: 'i' } })
      .sort(NEWEST_FIRST)
      .limit(limit)
      .toArray();
    return docs.map(toStored);
  }

  async summarize(queries: readonly RoomSummaryQuery[]): Promise<Map<number, RoomSummary>> {
    const summaries = new Map<number, RoomSummary>();
    if (queries.length === 0) return summaries;
    const roomIds = [...new Set(queries.map((q) => q.roomId))];

    const [latest, legacySeqs] = await Promise.all([
      this.messages
        .aggregate<{ _id: number; doc: MessageDoc }>([
          { $match: { room_id: { $in: roomIds } } },
          { $sort: { room_id: 1, seq: -1 } },
          { $group: { _id: '$room_id', doc: { $first: '$$ROOT' } } },
        ])
        .toArray(),
      this.legacyReadSeqs(queries),
    ]);

    const unread = await this.messages
      .aggregate<{ _id: number; count: number }>([
        {
          $match: {
            $or: queries.map((q) => ({
              room_id: q.roomId,
              seq: { $gt: q.lastReadSeq || (q.lastReadMessageId ? legacySeqs.get(q.lastReadMessageId) ?? 0 : 0) },
              user_id: { $ne: q.userId },
              is_deleted: false,
              created_at: { $gte: q.since },
            })),
          },
        },
        { $group: { _id: '$room_id', count: { $sum: 1 } } },
      ])
      .toArray();

    const lastByRoom = new Map(latest.map((entry) => [entry._id, toStored(entry.doc)]));
    const unreadByRoom = new Map(unread.map((entry) => [entry._id, entry.count]));
    for (const q of queries) {
      summaries.set(q.roomId, { lastMessage: lastByRoom.get(q.roomId) ?? null, unreadCount: unreadByRoom.get(q.roomId) ?? 0 });
    }
    return summaries;
  }

  /** The `seq` of messages named by read pointers stored before `seq` existed (lastReadSeq 0). */
  private async legacyReadSeqs(queries: readonly RoomSummaryQuery[]): Promise<Map<string, number>> {
    const ids = queries.flatMap((q) =>
      q.lastReadSeq === 0 && q.lastReadMessageId && this.isValidId(q.lastReadMessageId) ? [new ObjectId(q.lastReadMessageId)] : [],
    );
    if (ids.length === 0) return new Map();
    const docs = await this.messages.find({ _id: { $in: ids } }, { projection: { seq: 1 } }).toArray();
    return new Map(docs.map((doc) => [doc._id.toHexString(), doc.seq ?? 0]));
  }

  async deleteRoom(roomId: number): Promise<void> {
    await this.messages.deleteMany({ room_id: roomId });
    await this.sequences.deleteOne({ _id: roomId });
  }

  /**
   * One-time: documents from before `seq` get 1, 2, 3, ... per room in their old order
   * (created_at, _id), and each room's counter its last number. The instance that records the
   * migration first runs it; a crash midway leaves the record, so a later start finishes it
   * (documents that already have `seq` are kept and counted from).
   */
  private async numberLegacyMessages(): Promise<void> {
    const migrations = this.database.collection<MigrationDocument>(MIGRATIONS_COLLECTION);
    const unnumbered = await this.messages.findOne({ seq: { $exists: false } }, { projection: { _id: 1 } });
    if (!unnumbered) return;
    try {
      await migrations.insertOne({ _id: SEQ_MIGRATION, started_at: new Date() });
    } catch (error) {
      if (!(error instanceof MongoServerError) || error.code !== DUPLICATE_KEY) throw error;
    }
    const roomIds = await this.messages.distinct('room_id', { seq: { $exists: false } });
    for (const roomId of roomIds) await this.numberRoom(roomId);
  }

  private async numberRoom(roomId: number): Promise<void> {
    const [highest] = await this.messages.find({ room_id: roomId, seq: { $exists: true } }).sort({ seq: -1 }).limit(1).toArray();
    let seq = highest?.seq ?? 0;
    // The counter first, past every number this walk gives out: a send meanwhile gets a higher one.
    const unnumbered = await this.messages.countDocuments({ room_id: roomId, seq: { $exists: false } });
    await this.sequences.updateOne({ _id: roomId }, { $max: { last_seq: seq + unnumbered } }, { upsert: true });
    const cursor = this.messages.find({ room_id: roomId, seq: { $exists: false } }, { projection: { _id: 1 } }).sort({ created_at: 1, _id: 1 });
    let batch: { updateOne: { filter: Filter<MongoMessageDocument>; update: { $set: { seq: number } } } }[] = [];
    for await (const doc of cursor) {
      seq += 1;
      batch.push({ updateOne: { filter: { _id: doc._id, seq: { $exists: false } }, update: { $set: { seq } } } });
      if (batch.length === MIGRATION_BATCH) {
        await this.messages.bulkWrite(batch, { ordered: false });
        batch = [];
      }
    }
    if (batch.length > 0) await this.messages.bulkWrite(batch, { ordered: false });
  }
}
