import { type Collection, type Db as MongoDb, type Filter, MongoServerError, ObjectId, type WithId } from 'mongodb';
import {
  type CreateResult,
  decodeCursor,
  encodeCursor,
  escapeRegExp,
  InvalidCursorError,
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

export interface MongoMessageDocument {
  room_id: number;
  user_id: number;
  content: string | null;
  message_type: MessageType;
  attachment_url: string | null;
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
/** Newest first, ties broken by _id: a total order that the room_created index serves. */
const NEWEST_FIRST = { created_at: -1, _id: -1 } as const;
/**
 * `version + 1` inside a pipeline update, counting a missing version as 1 (where `$inc` would
 * make it 1, no newer than before). Changes are pipeline updates for this, so constants are
 * wrapped in `$literal`: a pipeline would read user text such as "$field" as a field path.
 */
const NEXT_VERSION = { $add: [{ $ifNull: ['$version', 1] }, 1] };

function toStored(doc: MessageDoc): StoredMessage {
  return {
    id: doc._id.toHexString(),
    roomId: doc.room_id,
    userId: doc.user_id,
    content: doc.content,
    messageType: doc.message_type,
    attachmentUrl: doc.attachment_url,
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

/** Messages strictly after (older: false) or before (older: true) a position. */
function beyond(position: { createdAt: Date; id: ObjectId }, older: boolean): Filter<MongoMessageDocument> {
  const op = older ? '$lt' : '$gt';
  return {
    $or: [{ created_at: { [op]: position.createdAt } }, { created_at: position.createdAt, _id: { [op]: position.id } }],
  };
}

/** The database named in the URL's path, else `bigtech_chat`. */
/**
 * Messages in MongoDB, collection `messages`, with the contract's indexes. A message's position
 * is (created_at, _id): history, cursors and unread counts walk the room_created index.
 */
export class MongoMessageStore implements MessageStore {
  readonly kind = 'mongodb' as const;
  readonly messages: Collection<MongoMessageDocument>;

  /** `database` belongs to the caller's MongoClient (the mongodb plugin's), which it closes. */
  constructor(private readonly database: MongoDb) {
    this.messages = this.database.collection<MongoMessageDocument>(MESSAGES_COLLECTION);
  }

  async init(): Promise<void> {
    await this.messages.createIndexes([
      // {room_id, created_at desc}, with _id so that equal timestamps still have one order.
      { key: { room_id: 1, created_at: -1, _id: -1 }, name: 'room_created' },
      { key: { user_id: 1, created_at: -1 }, name: 'user_created' },
      {
        key: { room_id: 1, user_id: 1, client_message_id: 1 },
        name: 'room_user_client_message',
        unique: true,
        partialFilterExpression: { client_message_id: { $type: 'string' } },
      },
    ]);
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

  sortKey(message: Pick<StoredMessage, 'id' | 'createdAt'>): string {
    return `${String(message.createdAt.getTime()).padStart(15, '0')}${message.id}`;
  }

  cursorFor(message: Pick<StoredMessage, 'id' | 'createdAt'>): string {
    return encodeCursor({ t: message.createdAt.getTime(), i: message.id });
  }

  async create(input: NewMessage): Promise<CreateResult> {
    const doc: MongoMessageDocument = {
      room_id: input.roomId,
      user_id: input.userId,
      content: input.content,
      message_type: input.messageType,
      attachment_url: input.attachmentUrl,
      reply_to: input.replyTo,
      client_message_id: input.clientMessageId,
      is_edited: false,
      edited_at: null,
      is_deleted: false,
      deleted_at: null,
      reactions: {},
      created_at: new Date(),
      version: 1,
    };
    try {
      const { insertedId } = await this.messages.insertOne(doc);
      return { message: toStored({ ...doc, _id: insertedId }), created: true };
    } catch (error) {
      if (!(error instanceof MongoServerError) || error.code !== DUPLICATE_KEY || input.clientMessageId === null) throw error;
      // `$type: 'string'` repeats the partial index's filter, so the planner can use that index
      // (room_user_client_message) instead of scanning the room.
      const first = await this.messages.findOne({
        room_id: input.roomId,
        user_id: input.userId,
        client_message_id: { $eq: input.clientMessageId, $type: 'string' },
      });
      if (!first) throw error;
      return { message: toStored(first), created: false };
    }
  }

  async findById(roomId: number, id: string): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const doc = await this.messages.findOne({ _id: new ObjectId(id), room_id: roomId });
    return doc ? toStored(doc) : null;
  }

  async page(roomId: number, request: PageRequest): Promise<MessagePage> {
    const before = request.before === undefined ? undefined : this.parseCursor(request.before);
    const filter: Filter<MongoMessageDocument> = { room_id: roomId, ...(before ? beyond(before, true) : {}) };
    const docs = await this.messages.find(filter).sort(NEWEST_FIRST).limit(request.limit + 1).toArray();
    return toMessagePage(docs.map(toStored), request.limit, (message) => this.cursorFor(message));
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
    const readIds = queries.flatMap((q) => (q.lastReadMessageId && this.isValidId(q.lastReadMessageId) ? [new ObjectId(q.lastReadMessageId)] : []));

    const [latest, readDocs] = await Promise.all([
      this.messages
        .aggregate<{ _id: number; doc: MessageDoc }>([
          { $match: { room_id: { $in: roomIds } } },
          { $sort: { room_id: 1, created_at: -1, _id: -1 } },
          { $group: { _id: '$room_id', doc: { $first: '$$ROOT' } } },
        ])
        .toArray(),
      readIds.length
        ? this.messages.find({ _id: { $in: readIds } }, { projection: { created_at: 1, room_id: 1 } }).toArray()
        : Promise.resolve([]),
    ]);
    const readPosition = new Map(readDocs.map((doc) => [doc._id.toHexString(), { createdAt: doc.created_at, id: doc._id }]));

    const unread = await this.messages
      .aggregate<{ _id: number; count: number }>([
        {
          $match: {
            $or: queries.map((q) => {
              const position = q.lastReadMessageId ? readPosition.get(q.lastReadMessageId) : undefined;
              return {
                room_id: q.roomId,
                user_id: { $ne: q.userId },
                is_deleted: false,
                created_at: { $gte: q.since },
                ...(position ? beyond(position, false) : {}),
              };
            }),
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

  async deleteRoom(roomId: number): Promise<void> {
    await this.messages.deleteMany({ room_id: roomId });
  }

  private parseCursor(cursor: string): { createdAt: Date; id: ObjectId } {
    const position = decodeCursor(cursor);
    const { t, i } = position;
    if (
      Object.keys(position).length !== 2 ||
      typeof t !== 'number' ||
      !Number.isSafeInteger(t) ||
      t < 0 ||
      typeof i !== 'string' ||
      !this.isValidId(i)
    ) {
      throw new InvalidCursorError();
    }
    return { createdAt: new Date(t), id: new ObjectId(i) };
  }
}
