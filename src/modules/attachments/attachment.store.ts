import type { Db } from '../../db/prisma.ts';
import type { Attachment } from '../../generated/prisma/client.ts';

export type AttachmentRow = Attachment;
export type NewAttachmentRow = Omit<Attachment, 'sentAt' | 'clientMessageId' | 'messageId' | 'createdAt' | 'deletedAt'>;

/** Every lookup here walks an index of `attachments` (primary key, room_id, (sent_at, created_at), deleted_at). */
export class AttachmentStore {
  constructor(private readonly db: Db) {}

  async insert(row: NewAttachmentRow): Promise<AttachmentRow> {
    return this.db.attachment.create({ data: row });
  }

  findLive(id: string): Promise<AttachmentRow | null> {
    return this.db.attachment.findFirst({ where: { id, deletedAt: null } });
  }

  /** One query for any number of attachments (a history page's). */
  findLiveMany(ids: readonly string[]): Promise<AttachmentRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.attachment.findMany({ where: { id: { in: [...ids] }, deletedAt: null } });
  }

  /** Claims an unsent upload for one send; false when it was sent (or deleted) meanwhile. */
  async claim(id: string, clientMessageId: string | null, at: Date): Promise<boolean> {
    const { count } = await this.db.attachment.updateMany({ where: { id, sentAt: null, deletedAt: null }, data: { sentAt: at, clientMessageId } });
    return count > 0;
  }

  /** Gives a claim back (its send stored no message with it). */
  async release(id: string): Promise<void> {
    await this.db.attachment.updateMany({ where: { id, messageId: null }, data: { sentAt: null, clientMessageId: null } });
  }

  async bind(id: string, messageId: string): Promise<void> {
    await this.db.attachment.updateMany({ where: { id }, data: { messageId } });
  }

  /** Marks rows deleted (their URLs answer 404 from now on); only `onlyUnsent` ones when asked. */
  async markDeleted(ids: readonly string[], at: Date, onlyUnsent = false): Promise<void> {
    if (ids.length === 0) return;
    await this.db.attachment.updateMany({
      where: { id: { in: [...ids] }, deletedAt: null, ...(onlyUnsent ? { sentAt: null } : {}) },
      data: { deletedAt: at },
    });
  }

  async markRoomDeleted(roomId: number, at: Date): Promise<void> {
    await this.db.attachment.updateMany({ where: { roomId, deletedAt: null }, data: { deletedAt: at } });
  }

  /** Rows marked deleted, among `ids` (the ones a conditional mark took). */
  findDeleted(ids: readonly string[]): Promise<AttachmentRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.attachment.findMany({ where: { id: { in: [...ids] }, deletedAt: { not: null } } });
  }

  /** A batch of the room's rows, deleted or not. */
  roomBatch(roomId: number, limit: number): Promise<AttachmentRow[]> {
    return this.db.attachment.findMany({ where: { roomId }, take: limit });
  }

  /** Uploads never sent that were made before `before`. */
  async unsentBefore(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db.attachment.findMany({
      where: { sentAt: null, createdAt: { lt: before }, deletedAt: null },
      orderBy: { createdAt: 'asc' },
      take: limit,
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  /** Deletions whose files were not removed (the instance failed or stopped in between). */
  deletedBefore(before: Date, limit: number): Promise<AttachmentRow[]> {
    return this.db.attachment.findMany({ where: { deletedAt: { lt: before } }, orderBy: { deletedAt: 'asc' }, take: limit });
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.attachment.deleteMany({ where: { id: { in: [...ids] } } });
  }
}
