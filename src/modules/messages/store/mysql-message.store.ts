import type { Pool, PoolConnection } from 'mariadb';
import { retryOnConflict } from '../../../db/conflict-retry.ts';
import type { Db } from '../../../db/prisma.ts';
import { utcDateTime } from '../../../db/mysql-url.ts';
import { Prisma } from '../../../generated/prisma/client.ts';
import { isMysqlUnavailable, isUniqueViolation } from '../../../plugins/prisma.ts';
import {
  type BatchOutcome,
  type CreateResult,
  firstOfEachKey,
  repeatOutcome,
  type MessagePage,
  type MessageStore,
  toMessagePage,
  type MessageType,
  type NewMessage,
  normalizeReactions,
  type PageRequest,
  REACTION_KINDS,
  type ReactionKind,
  type RoomSummary,
  type RoomSummaryQuery,
  type StoredMessage,
} from './message-store.ts';
import { dateOfUtcText, isoOfUtcText } from './utc-text.ts';

const MAX_ID = 9_223_372_036_854_775_807n;
/** Batch attempts before a batch that keeps meeting resends raced in by others is stored one by one. */
const BATCH_ATTEMPTS = 3;
const INSERT_COLUMNS = 'room_id, seq, user_id, content, message_type, attachment_url, attachment_id, reply_to, client_message_id, created_at';
const ID_PATTERN = /^[1-9][0-9]{0,18}$/;

const withReactions = { reactions: { select: { userId: true, reaction: true } } } as const;

type MessageRow = Prisma.ChatMessageGetPayload<{ include: typeof withReactions }>;

/** What a transaction can read with: the client or the transaction's own handle. */
type Reader = Pick<Db, 'chatMessage'>;

function toStored(row: MessageRow): StoredMessage {
  return {
    id: row.id.toString(),
    roomId: row.roomId,
    seq: Number(row.seq),
    userId: row.userId,
    content: row.content,
    messageType: row.messageType as MessageType,
    attachmentUrl: row.attachmentUrl,
    attachmentId: row.attachmentId,
    replyTo: row.replyTo,
    clientMessageId: row.clientMessageId,
    isEdited: row.isEdited,
    editedAt: row.editedAt,
    isDeleted: row.isDeleted,
    reactions: normalizeReactions(row.reactions.map((r) => ({ userId: r.userId, reaction: r.reaction as ReactionKind }))),
    createdAt: row.createdAt,
    version: row.version,
  };
}

/**
 * A history page: newest first, each message with its reactions as `user_id:reaction` pairs
 * (one index lookup per message on the reactions' primary key). Dates come back as the stored
 * UTC text (`dateStrings`), never through the connection's time zone. Exported for the
 * benchmark's same-SQL ceiling (bench/baseline-http-server.ts).
 */
const PAGE_COLUMNS = `SELECT m.id, m.room_id, m.seq, m.user_id, m.content, m.message_type, m.attachment_url, m.attachment_id,
  m.reply_to, m.client_message_id, m.is_edited, m.edited_at, m.is_deleted, m.created_at, m.version,
  (SELECT GROUP_CONCAT(r.user_id, ':', r.reaction) FROM message_reactions r WHERE r.message_id = m.id) AS reactions,
  (SELECT COUNT(*) FROM message_reactions r WHERE r.message_id = m.id) AS reaction_count
  FROM messages m`;
/** The reactions of messages whose GROUP_CONCAT came back cut at `group_concat_max_len` (1 KiB on MySQL 8). */
const REACTIONS_SQL = 'SELECT message_id, user_id, reaction FROM message_reactions WHERE message_id IN (?)';
export const PAGE_SQL = `${PAGE_COLUMNS} WHERE m.room_id = ? ORDER BY m.seq DESC LIMIT ?`;
export const PAGE_BEFORE_SQL = `${PAGE_COLUMNS} WHERE m.room_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`;

/** The last message (highest seq, deleted or not) of each of a list of rooms, over the (room_id, seq) key. */
const LAST_MESSAGES_SQL = `${PAGE_COLUMNS}
  JOIN (SELECT room_id, MAX(seq) AS seq FROM messages WHERE room_id IN (?) GROUP BY room_id) last ON last.room_id = m.room_id AND last.seq = m.seq`;

/**
 * Unread messages per room (parameters per query: room, reader, since, last read seq): others'
 * messages, not deleted, since the reader joined and after their read pointer.
 */
/**
 * Unread counts of many (room, reader) pairs, given as one JSON array of [room_id, user_id,
 * since, last_read_seq]: each pair joins the room's messages on the (room_id, seq) key. The same
 * condition as 100 ORed ranges cost the range optimiser ~10 ms of MariaDB CPU for a room list of
 * 100 (bench/rounds.md, perf-sse-flood); joined from JSON_TABLE it is ~1.6 ms. DISTINCT keeps a
 * message counted once should a room be asked twice.
 */
const UNREAD_COUNTS_SQL = `SELECT q.room_id, COUNT(DISTINCT m.id) AS unread
  FROM JSON_TABLE(?, '$[*]' COLUMNS (room_id INT PATH '$[0]', user_id INT PATH '$[1]', since DATETIME(3) PATH '$[2]', last_seq BIGINT PATH '$[3]')) AS q
  JOIN messages m ON m.room_id = q.room_id AND m.seq > q.last_seq
  WHERE m.is_deleted = FALSE AND m.user_id <> q.user_id AND m.created_at >= q.since
  GROUP BY q.room_id`;

/** A row of PAGE_SQL as the driver returns it (BOOLEAN as 0/1, BIGINT as bigint, dates as text). */
interface RawMessageRow {
  id: bigint | number;
  room_id: number;
  seq: bigint | number;
  user_id: number;
  content: string | null;
  message_type: MessageType;
  attachment_url: string | null;
  attachment_id: string | null;
  reply_to: string | null;
  client_message_id: string | null;
  is_edited: number | boolean;
  edited_at: string | null;
  is_deleted: number | boolean;
  created_at: string;
  version: number;
  reactions: string | null;
  reaction_count: bigint | number;
}


const REACTION_KIND_SET: ReadonlySet<string> = new Set(REACTION_KINDS);
const USER_ID = /^[1-9][0-9]*$/;

/** The `user_id:reaction` pairs, or null when the list was cut short (a pair missing or broken). */
export function reactionPairs(list: string | null, count: number): { userId: number; reaction: ReactionKind }[] | null {
  if (!list) return count === 0 ? [] : null;
  const pairs = list.split(',');
  if (pairs.length !== count) return null;
  const parsed: { userId: number; reaction: ReactionKind }[] = [];
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    const userId = pair.slice(0, colon);
    const reaction = pair.slice(colon + 1);
    if (colon < 0 || !USER_ID.test(userId) || !REACTION_KIND_SET.has(reaction)) return null;
    parsed.push({ userId: Number(userId), reaction: reaction as ReactionKind });
  }
  return parsed;
}

function fromRawRow(row: RawMessageRow, pairs: { userId: number; reaction: ReactionKind }[]): StoredMessage {
  return {
    id: row.id.toString(),
    roomId: row.room_id,
    seq: Number(row.seq),
    userId: row.user_id,
    content: row.content,
    messageType: row.message_type,
    attachmentUrl: row.attachment_url,
    attachmentId: row.attachment_id,
    replyTo: row.reply_to,
    clientMessageId: row.client_message_id,
    isEdited: Boolean(row.is_edited),
    editedAt: row.edited_at === null ? null : dateOfUtcText(row.edited_at),
    isDeleted: Boolean(row.is_deleted),
    reactions: normalizeReactions(pairs),
    createdAt: dateOfUtcText(row.created_at),
    times: { createdAt: isoOfUtcText(row.created_at), editedAt: row.edited_at === null ? null : isoOfUtcText(row.edited_at) },
    version: row.version,
  };
}

/** The columns of a new message after room_id and seq, up to created_at. */
function insertValues(input: NewMessage): (string | number | null)[] {
  return [input.userId, input.content, input.messageType, input.attachmentUrl, input.attachmentId ?? null, input.replyTo, input.clientMessageId];
}

function resendKey(message: { roomId: number; userId: number; clientMessageId: string | null }): string {
  return `${message.roomId}:${message.userId}:${message.clientMessageId ?? ''}`;
}

/**
 * Each message's seq: its room's numbers are the `count` up to the bumped `last_seq`, given out
 * in batch order.
 */
function seqsFor(batch: readonly NewMessage[], counts: ReadonlyMap<number, number>, lastSeqs: readonly { room_id: number; last_seq: bigint | number }[]): number[] {
  const next = new Map(lastSeqs.map((row) => [Number(row.room_id), Number(row.last_seq) - (counts.get(Number(row.room_id)) ?? 0) + 1]));
  return batch.map((input) => {
    const seq = next.get(input.roomId);
    if (seq === undefined) throw new Error(`no message_sequences row for room ${input.roomId} after its bump`);
    next.set(input.roomId, seq + 1);
    return seq;
  });
}

/** A message just inserted, as stored: no read-back needed (version is the column's default). */
function newMessage(input: NewMessage, row: { id: string; seq: number }, createdAt: Date): StoredMessage {
  return {
    ...input,
    attachmentId: input.attachmentId ?? null,
    id: row.id,
    seq: row.seq,
    isEdited: false,
    editedAt: null,
    isDeleted: false,
    reactions: {},
    createdAt,
    version: 1,
  };
}

/** LIKE pattern for "contains text", with the pattern characters of `text` taken literally. */
export function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/**
 * Messages in the MySQL `messages` / `message_reactions` tables (the default without MongoDB).
 * History, cursors and unread counts walk the (room_id, seq) index.
 *
 * Changes to a message (edit, delete, reaction) each run in one transaction whose first
 * statement is `UPDATE messages SET version = version + 1` on that row: the row lock it takes
 * orders every change of one message (so concurrent reaction toggles can no longer deadlock on
 * the reaction index's gap locks), and the read-back inside the same transaction sees exactly
 * the state that version names.
 */
export class MysqlMessageStore implements MessageStore {
  readonly kind = 'mysql' as const;

  constructor(
    private readonly db: Db,
    /** The pool under `db`: sending, the hottest write, is one plain INSERT on it. */
    private readonly pool: Pool,
  ) {}

  async init(): Promise<void> {}

  async ping(): Promise<void> {
    await this.db.$queryRaw`SELECT 1 FROM messages LIMIT 1`;
  }

  async close(): Promise<void> {}

  isValidId(id: string): boolean {
    return ID_PATTERN.test(id) && BigInt(id) <= MAX_ID;
  }

  /**
   * The room's next `seq` and the INSERT in one transaction: the counter row's lock is held until
   * commit, so sends to one room commit in `seq` order (no message is ever stored below one a
   * reader has seen) while other rooms' counters are untouched. A repeated (room, sender,
   * client_message_id) hits the unique key: the transaction rolls back (the counter with it, so
   * no gap) and the first message is returned.
   */
  async create(input: NewMessage): Promise<CreateResult> {
    const createdAt = new Date();
    try {
      const row = await retryOnConflict(() => this.insertNumbered(input, createdAt));
      return { message: newMessage(input, row, createdAt), created: true };
    } catch (error) {
      if (!isUniqueViolation(error) || input.clientMessageId === null) throw error;
      const first = await this.db.chatMessage.findUnique({
        where: { clientMessageKey: { roomId: input.roomId, userId: input.userId, clientMessageId: input.clientMessageId } },
        include: withReactions,
      });
      if (!first) throw error;
      return { message: toStored(first), created: false };
    }
  }

  /**
   * Group commit: one transaction takes each room's numbers from its counter (the rows locked in
   * room order, held until commit, as for one message) and inserts every message in one
   * multi-row INSERT. Repeats inside the batch share their first send's outcome. A unique
   * violation means a resend of an earlier message: those are read back and the rest tried
   * again. Any other failure, or a batch that keeps meeting fresh resends, is stored one message
   * at a time, so one bad message fails alone.
   */
  async createMany(inputs: readonly NewMessage[]): Promise<BatchOutcome[]> {
    const { firsts, sharedWith } = firstOfEachKey(inputs);
    const outcomes = new Map<number, BatchOutcome>();
    let pending = firsts;
    for (let attempt = 0; attempt < BATCH_ATTEMPTS && pending.length > 1; attempt += 1) {
      const createdAt = new Date();
      const batch = pending.map((i) => inputs[i]!);
      try {
        const rows = await retryOnConflict(() => this.insertBatch(batch, createdAt));
        pending.forEach((i, k) => outcomes.set(i, { ok: true, result: { message: newMessage(inputs[i]!, rows[k]!, createdAt), created: true } }));
        pending = [];
      } catch (error) {
        // MySQL out of reach: every message fails now, rather than each after its own wait.
        if (isMysqlUnavailable(error)) for (const i of pending.splice(0)) outcomes.set(i, { ok: false, error });
        if (!isUniqueViolation(error)) break;
        const earlier = await this.findResends(batch);
        if (earlier.size === 0) break;
        for (const i of pending) {
          const first = earlier.get(resendKey(inputs[i]!));
          if (first) outcomes.set(i, { ok: true, result: { message: first, created: false } });
        }
        pending = pending.filter((i) => !outcomes.has(i));
      }
    }
    for (const i of pending) {
      outcomes.set(
        i,
        await this.create(inputs[i]!).then(
          (result): BatchOutcome => ({ ok: true, result }),
          (error: unknown): BatchOutcome => ({ ok: false, error }),
        ),
      );
    }
    return inputs.map((_, i) => (sharedWith[i] === i ? outcomes.get(i)! : repeatOutcome(outcomes.get(sharedWith[i]!)!)));
  }

  /**
   * BEGIN, the counters' bump and their read-back go out together (the driver pipelines), then
   * the INSERT, then COMMIT. Rooms are bumped in ascending id order, so two instances' batches
   * lock shared counters in the same order. Returns each message's id and seq, in batch order.
   */
  private async insertBatch(batch: readonly NewMessage[], createdAt: Date): Promise<{ id: string; seq: number }[]> {
    const counts = new Map<number, number>();
    for (const input of batch) counts.set(input.roomId, (counts.get(input.roomId) ?? 0) + 1);
    const rooms = [...counts.keys()].sort((a, b) => a - b);
    const conn = await this.pool.getConnection();
    try {
      // BEGIN goes with the first statement (it fails only with the connection); no write is sent
      // behind a statement that may fail: a deadlock victim's transaction is rolled back at once,
      // and a write already on the wire would then run, and commit, on its own (a gap).
      const begun = conn.beginTransaction();
      const bumped = conn.query(
        `INSERT INTO message_sequences (room_id, last_seq) VALUES ${rooms.map(() => '(?, ?)').join(', ')} ON DUPLICATE KEY UPDATE last_seq = last_seq + VALUES(last_seq)`,
        rooms.flatMap((roomId) => [roomId, counts.get(roomId)!]),
      );
      // A read may follow on the wire: run on its own after a failed bump, it changes nothing.
      const counters = conn.query<{ room_id: number; last_seq: bigint | number }[]>(
        `SELECT room_id, last_seq FROM message_sequences WHERE room_id IN (${rooms.map(() => '?').join(', ')})`,
        rooms,
      );
      let seqs: number[] = [];
      const rows = await Promise.all([begun, bumped, counters])
        .then(([, , lastSeqs]) => lastSeqs)
        .then((lastSeqs) => {
          seqs = seqsFor(batch, counts, lastSeqs);
          const at = utcDateTime(createdAt);
          return conn.query<{ id: bigint | number; room_id: number; seq: bigint | number }[]>(
            `INSERT INTO messages (${INSERT_COLUMNS}) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} RETURNING id, room_id, seq`,
            batch.flatMap((input, k) => [input.roomId, seqs[k]!, ...insertValues(input), at]),
          );
        })
        .catch(async (error: unknown) => {
          await conn.rollback().catch(() => {});
          throw error;
        });
      await conn.commit();
      if (rows.length !== batch.length) throw new Error(`a batch INSERT of ${batch.length} returned ${rows.length} rows`);
      const ids = new Map(rows.map((row) => [`${row.room_id}:${row.seq}`, row.id.toString()]));
      return batch.map((input, k) => ({ id: ids.get(`${input.roomId}:${seqs[k]}`)!, seq: seqs[k]! }));
    } finally {
      await conn.release();
    }
  }

  /** Messages stored earlier under the batch's client_message_ids, by room, sender and id. */
  private async findResends(batch: readonly NewMessage[]): Promise<Map<string, StoredMessage>> {
    const keyed = batch.flatMap((input) =>
      input.clientMessageId === null ? [] : [{ roomId: input.roomId, userId: input.userId, clientMessageId: input.clientMessageId }],
    );
    if (keyed.length === 0) return new Map();
    const rows = await this.db.chatMessage.findMany({ where: { OR: keyed }, include: withReactions });
    return new Map(rows.map((row) => [resendKey(row), toStored(row)]));
  }

  private async insertNumbered(input: NewMessage, createdAt: Date): Promise<{ id: string; seq: number }> {
    const conn = await this.pool.getConnection();
    try {
      // Sent together with the first statement (the driver pipelines): START TRANSACTION fails
      // only with the connection, and then so does everything after it. No write is sent behind
      // one that may fail: a deadlock victim's transaction is rolled back at once, and a write
      // already on the wire would then run, and commit, on its own.
      const begun = conn.beginTransaction();
      const [row] = await this.numberedInsert(conn, input, createdAt, begun).catch(async (error: unknown) => {
        await conn.rollback().catch(() => {});
        throw error;
      });
      await conn.commit();
      if (!row) throw new Error('INSERT ... RETURNING gave no row');
      return { id: row.id.toString(), seq: Number(row.seq) };
    } finally {
      await conn.release();
    }
  }

  private async numberedInsert(
    conn: PoolConnection,
    input: NewMessage,
    createdAt: Date,
    begun: Promise<void>,
  ): Promise<{ id: bigint | number; seq: bigint | number }[]> {
    const bumped = conn.query('INSERT INTO message_sequences (room_id, last_seq) VALUES (?, 1) ON DUPLICATE KEY UPDATE last_seq = last_seq + 1', [input.roomId]);
    await Promise.all([begun, bumped]);
    return conn.query<{ id: bigint | number; seq: bigint | number }[]>(
      `INSERT INTO messages (room_id, seq, user_id, content, message_type, attachment_url, attachment_id, reply_to, client_message_id, created_at)
       SELECT room_id, last_seq, ?, ?, ?, ?, ?, ?, ?, ? FROM message_sequences WHERE room_id = ?
       RETURNING id, seq`,
      [...insertValues(input), utcDateTime(createdAt), input.roomId],
    );
  }

  async findById(roomId: number, id: string): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    return this.read(this.db, roomId, BigInt(id));
  }

  /**
   * One plain statement on the pool (history is the hottest read): the page and its reactions
   * in one round trip, where Prisma's `include` costs two queries and its query layer.
   */
  async page(roomId: number, request: PageRequest): Promise<MessagePage> {
    const before = request.beforeSeq !== undefined;
    const rows = await this.pool.query<RawMessageRow[]>(
      { sql: before ? PAGE_BEFORE_SQL : PAGE_SQL, dateStrings: true },
      before ? [roomId, request.beforeSeq, request.limit + 1] : [roomId, request.limit + 1],
    );
    const pairs = rows.map((row) => reactionPairs(row.reactions, Number(row.reaction_count)));
    const cut = rows.filter((_, i) => pairs[i] === null);
    const reread = cut.length > 0 ? await this.reactionsOf(cut.map((row) => row.id)) : new Map<string, { userId: number; reaction: ReactionKind }[]>();
    return toMessagePage(rows.map((row, i) => fromRawRow(row, pairs[i] ?? reread.get(row.id.toString()) ?? [])), request.limit);
  }

  private async reactionsOf(messageIds: readonly (bigint | number)[]): Promise<Map<string, { userId: number; reaction: ReactionKind }[]>> {
    const rows = await this.pool.query<{ message_id: bigint | number; user_id: number; reaction: ReactionKind }[]>(REACTIONS_SQL, [messageIds]);
    const byMessage = new Map<string, { userId: number; reaction: ReactionKind }[]>();
    for (const row of rows) {
      const id = row.message_id.toString();
      byMessage.set(id, [...(byMessage.get(id) ?? []), { userId: row.user_id, reaction: row.reaction }]);
    }
    return byMessage;
  }

  async editContent(roomId: number, id: string, content: string, at: Date): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const messageId = BigInt(id);
    return this.change(roomId, messageId, async (tx) => {
      const changed = await tx.$executeRaw`
        UPDATE messages SET content = ${content}, is_edited = TRUE, edited_at = ${utcDateTime(at)}, version = version + 1
        WHERE id = ${messageId} AND room_id = ${roomId} AND is_deleted = FALSE`;
      return changed > 0;
    });
  }

  async softDelete(roomId: number, id: string, at: Date): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const messageId = BigInt(id);
    const deleted = await this.change(roomId, messageId, async (tx) => {
      const changed = await tx.$executeRaw`
        UPDATE messages SET is_deleted = TRUE, deleted_at = ${utcDateTime(at)}, content = NULL, attachment_url = NULL, attachment_id = NULL, version = version + 1
        WHERE id = ${messageId} AND room_id = ${roomId} AND is_deleted = FALSE`;
      return changed > 0;
    });
    // Deleted already (or unknown): as it is.
    return deleted ?? this.findById(roomId, id);
  }

  async toggleReaction(roomId: number, id: string, userId: number, reaction: ReactionKind): Promise<StoredMessage | null> {
    if (!this.isValidId(id)) return null;
    const messageId = BigInt(id);
    return this.change(roomId, messageId, async (tx) => {
      const changed = await tx.$executeRaw`UPDATE messages SET version = version + 1 WHERE id = ${messageId} AND room_id = ${roomId}`;
      if (changed === 0) return false;
      // Under the message's row lock: nobody else toggles on this message until we commit.
      const removed = await tx.messageReaction.deleteMany({ where: { messageId, userId, reaction } });
      if (removed.count === 0) await tx.messageReaction.create({ data: { messageId, userId, reaction } });
      return true;
    });
  }

  async search(roomId: number, text: string, limit: number): Promise<StoredMessage[]> {
    // LOWER() on both sides with a binary collation: case-insensitive, but otherwise exact
    // (utf8mb4_unicode_ci would treat every emoji as equal and ignore accents).
    const hits = await this.db.$queryRaw<{ id: bigint }[]>`
      SELECT id FROM messages
      WHERE room_id = ${roomId} AND is_deleted = false AND content IS NOT NULL
        AND LOWER(content) COLLATE utf8mb4_bin LIKE LOWER(${likeContains(text)}) COLLATE utf8mb4_bin ESCAPE '!'
      ORDER BY seq DESC
      LIMIT ${limit}`;
    if (hits.length === 0) return [];
    const rows = await this.db.chatMessage.findMany({
      where: { id: { in: hits.map((hit) => BigInt(hit.id)) } },
      orderBy: { seq: 'desc' },
      include: withReactions,
    });
    return rows.map(toStored);
  }

  /**
   * Two plain statements on the pool, run together: the last message of each room (with its
   * reactions, as a history page reads them) and the unread counts. A room list asks this for up
   * to 100 rooms; Prisma's groupBy and include cost several times the SQL there.
   */
  async summarize(queries: readonly RoomSummaryQuery[]): Promise<Map<number, RoomSummary>> {
    const summaries = new Map<number, RoomSummary>();
    if (queries.length === 0) return summaries;
    const roomIds = [...new Set(queries.map((q) => q.roomId))];
    const unreadPairs = JSON.stringify(queries.map((q) => [q.roomId, q.userId, utcDateTime(q.since), q.lastReadSeq]));
    const [lastRows, unreadRows] = await Promise.all([
      this.pool.query<RawMessageRow[]>({ sql: LAST_MESSAGES_SQL, dateStrings: true }, [roomIds]),
      this.pool.query<{ room_id: number; unread: bigint | number }[]>(UNREAD_COUNTS_SQL, [unreadPairs]),
    ]);
    const pairs = lastRows.map((row) => reactionPairs(row.reactions, Number(row.reaction_count)));
    const cut = lastRows.filter((_, i) => pairs[i] === null);
    const reread = cut.length > 0 ? await this.reactionsOf(cut.map((row) => row.id)) : new Map<string, { userId: number; reaction: ReactionKind }[]>();
    const lastByRoom = new Map(lastRows.map((row, i) => [row.room_id, fromRawRow(row, pairs[i] ?? reread.get(row.id.toString()) ?? [])]));
    const unreadByRoom = new Map(unreadRows.map((row) => [row.room_id, Number(row.unread)]));
    for (const q of queries) {
      summaries.set(q.roomId, { lastMessage: lastByRoom.get(q.roomId) ?? null, unreadCount: unreadByRoom.get(q.roomId) ?? 0 });
    }
    return summaries;
  }

  async deleteRoom(roomId: number): Promise<void> {
    await this.db.chatMessage.deleteMany({ where: { roomId } });
  }

  /**
   * One change of one message: `apply` runs first in the transaction (its UPDATE bumps the
   * version and locks the row; false when no row matched), then the message is read back in
   * the same transaction. Null when nothing matched. A deadlock victim is run again.
   */
  private change(roomId: number, messageId: bigint, apply: (tx: Prisma.TransactionClient) => Promise<boolean>): Promise<StoredMessage | null> {
    return retryOnConflict(() =>
      this.db.$transaction(async (tx) => {
        if (!(await apply(tx))) return null;
        return this.read(tx, roomId, messageId);
      }),
    );
  }

  private async read(reader: Reader, roomId: number, messageId: bigint): Promise<StoredMessage | null> {
    const row = await reader.chatMessage.findFirst({ where: { id: messageId, roomId }, include: withReactions });
    return row ? toStored(row) : null;
  }
}
