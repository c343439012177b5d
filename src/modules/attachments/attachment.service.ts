import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { MultipartFile } from '@fastify/multipart';
import { create as contentDisposition } from 'content-disposition';
import type { FastifyBaseLogger } from 'fastify';
import { fileTypeFromFile } from 'file-type';
import { badRequest, forbidden, notFound, unsupportedMediaType } from '../../lib/errors.ts';
import { sniffImage } from '../../lib/image-sniff.ts';
import type { RoomService } from '../rooms/room.service.ts';
import type { AttachmentCleanup } from './attachment.cleanup.ts';
import { type ReceivedFile, receiveFile } from './attachment.upload.ts';
import { ATTACHMENT_ID, type AttachmentInfo, type AttachmentView } from './attachment.schemas.ts';
import type { AttachmentRow, AttachmentStore } from './attachment.store.ts';
import type { AttachmentUrls, AttachmentVariant, UrlAccess, UrlGrant } from './attachment-urls.ts';
import { signedAttachment, toAttachmentInfo } from './attachment.view.ts';
import { inspectImage, THUMBNAIL_CONTENT_TYPE, UndecodableImageError } from './image-processing.ts';
import type { FileStorage, StoredObject } from './storage/index.ts';

const OCTET_STREAM = 'application/octet-stream';

/** The multipart limits of one upload: one file part, a few small fields at most. */
export interface UploadLimits {
  fileSize: number;
  files: number;
  fields: number;
  parts: number;
}

export type ReceiveUpload = (limits: UploadLimits) => Promise<MultipartFile | undefined>;

export interface ClaimRequest {
  userId: number;
  roomId: number;
  attachmentId: string;
  messageType: 'image' | 'file';
  clientMessageId: string | null;
}

export interface AttachmentClaim {
  info: AttachmentInfo;
  /** True when this send took the upload; false for a resend (same client_message_id) of the send that did. */
  fresh: boolean;
}

/** What a read needs to answer, once access is granted. */
export interface AttachmentFile {
  etag: string;
  contentType: string;
  disposition: string;
  open(): Promise<StoredObject>;
}

interface Judged {
  kind: 'image' | 'file';
  contentType: string;
  width: number | null;
  height: number | null;
  thumbnail: Buffer | null;
}

const invalid = (field: string, message: string) => badRequest(message, [{ location: 'body', field, message }]);

/** `attachments/<2 hex>/<id>`: from the id alone, spread over 256 folders. */
const storageKeyOf = (id: string) => `attachments/${id.slice(0, 2)}/${id}`;

/** Judged by content: the four image types decode (or 415), anything else is a file of its sniffed type. */
async function judge(received: ReceivedFile): Promise<Judged> {
  const image = sniffImage(received.head);
  if (!image) {
    const sniffed = await fileTypeFromFile(received.path).catch(() => undefined);
    return { kind: 'file', contentType: sniffed?.mime ?? OCTET_STREAM, width: null, height: null, thumbnail: null };
  }
  try {
    const facts = await inspectImage(received.path);
    return { kind: 'image', contentType: image.mimeType, ...facts };
  } catch (error) {
    if (error instanceof UndecodableImageError) throw unsupportedMediaType(`The file starts like ${image.mimeType} but does not decode as one`);
    throw error;
  }
}

/**
 * Attachments: uploads into rooms (members only), claimed once by the message that sends them,
 * read by members through signed URLs, removed with their message or room, or by the sweep.
 */
export class AttachmentService {
  constructor(
    private readonly deps: {
      store: AttachmentStore;
      storage: FileStorage;
      urls: AttachmentUrls;
      cleanup: AttachmentCleanup;
      rooms: RoomService;
      maxBytes: number;
      log: FastifyBaseLogger;
    },
  ) {}

  /** Membership is checked before any of the body is read (404 unknown room, 403 not a member). */
  async upload(userId: number, roomId: number, receive: ReceiveUpload): Promise<AttachmentView> {
    await this.deps.rooms.currentMembership(userId, roomId);
    const file = await receive({ fileSize: this.deps.maxBytes, files: 1, fields: 5, parts: 6 });
    if (!file || file.type !== 'file' || file.fieldname !== 'file') throw badRequest('Send the file as multipart field "file"');
    const received = await receiveFile(file, this.deps.maxBytes);
    try {
      const judged = await judge(received);
      return await this.persist(userId, roomId, received, judged);
    } finally {
      await received.dispose();
    }
  }

  /** The row first: a failure after it leaves an unsent upload, which the sweep removes with its files. */
  private async persist(userId: number, roomId: number, received: ReceivedFile, judged: Judged): Promise<AttachmentView> {
    const id = randomBytes(16).toString('hex');
    const storageKey = storageKeyOf(id);
    const thumbnailKey = judged.thumbnail ? `${storageKey}.thumb.webp` : null;
    const row = await this.deps.store.insert({
      id,
      roomId,
      uploaderId: userId,
      name: received.name,
      size: received.size,
      contentType: judged.contentType,
      kind: judged.kind,
      width: judged.width,
      height: judged.height,
      storageKey,
      thumbnailKey,
    });
    try {
      await this.deps.storage.put(storageKey, createReadStream(received.path), received.size, judged.contentType);
      if (judged.thumbnail && thumbnailKey) await this.deps.storage.put(thumbnailKey, judged.thumbnail, judged.thumbnail.length, THUMBNAIL_CONTENT_TYPE);
    } catch (error) {
      await this.deps.cleanup.deleteOne(id).catch((cleanupError: unknown) => {
        this.deps.log.warn({ err: cleanupError, attachmentId: id }, 'could not remove a failed upload; the sweep will');
      });
      throw error;
    }
    return this.sign(toAttachmentInfo(row), { kind: 'user', userId });
  }

  isValidId(id: string): boolean {
    return ATTACHMENT_ID.test(id);
  }

  /** Live attachments by id, in one query. */
  async infos(ids: readonly string[]): Promise<Map<string, AttachmentInfo>> {
    const rows = await this.deps.store.findLiveMany([...new Set(ids)].filter((id) => this.isValidId(id)));
    return new Map(rows.map((row) => [row.id, toAttachmentInfo(row)]));
  }

  sign(info: AttachmentInfo, grant: UrlGrant): AttachmentView {
    return signedAttachment(info, this.deps.urls, grant);
  }

  /**
   * Takes an upload for one message: only the uploader's own (403), only in its room, only once
   * (400). A resend with the same client_message_id as the send that took it may go on: the
   * message store then returns that first message.
   */
  async claim(request: ClaimRequest): Promise<AttachmentClaim> {
    const row = await this.requireSendable(request);
    const info = toAttachmentInfo(row);
    if (row.sentAt === null && (await this.deps.store.claim(row.id, request.clientMessageId, new Date()))) return { info, fresh: true };
    // Sent already, or taken by a concurrent send just now: only a resend of that send goes on.
    const claimedBy = row.sentAt === null ? (await this.deps.store.findLive(row.id))?.clientMessageId : row.clientMessageId;
    if (request.clientMessageId !== null && claimedBy === request.clientMessageId) return { info, fresh: false };
    throw invalid('attachment_id', 'This attachment was sent already');
  }

  private async requireSendable(request: ClaimRequest): Promise<AttachmentRow> {
    const row = this.isValidId(request.attachmentId) ? await this.deps.store.findLive(request.attachmentId) : null;
    if (!row) throw invalid('attachment_id', `Attachment ${request.attachmentId} not found: upload it first`);
    if (row.roomId !== request.roomId) throw invalid('attachment_id', 'This attachment was uploaded to another room');
    if (row.uploaderId !== request.userId) throw forbidden('Only its uploader can send this attachment');
    if (request.messageType === 'image' && row.kind !== 'image') {
      throw invalid('message_type', 'This attachment is not an image: send it as a file message');
    }
    return row;
  }

  /** After the store answered: the message that carries the claimed upload is noted on it; else the claim is given back. */
  async settle(claim: AttachmentClaim, message: { id: string; attachmentId: string | null }): Promise<void> {
    if (message.attachmentId === claim.info.id) await this.deps.store.bind(claim.info.id, message.id);
    else if (claim.fresh) await this.deps.store.release(claim.info.id);
  }

  /** The send failed before storing anything: the upload may be sent again. */
  async release(claim: AttachmentClaim): Promise<void> {
    if (claim.fresh) await this.deps.store.release(claim.info.id);
  }

  /** The message that sent it was deleted. */
  delete(id: string): Promise<void> {
    return this.deps.cleanup.deleteOne(id);
  }

  /** The room was deleted: every attachment of it goes (idempotent; room clean-ups are retried). */
  deleteRoom(roomId: number): Promise<void> {
    return this.deps.cleanup.deleteRoom(roomId);
  }

  /**
   * A read of the file or its thumbnail, checked now: the attachment is live (else 404) and the
   * reader still a member (403), or, for a link given to the whole room, nobody left since (403).
   */
  async authorize(id: string, variant: AttachmentVariant, access: UrlAccess): Promise<AttachmentFile> {
    const row = this.isValidId(id) ? await this.deps.store.findLive(id) : null;
    const key = variant === 'thumbnail' ? row?.thumbnailKey : row?.storageKey;
    if (!row || !key) throw notFound(`Attachment ${id} not found`);
    await this.checkAccess(row.roomId, access);
    const thumbnail = variant === 'thumbnail';
    return {
      etag: `"${row.id}${thumbnail ? '-thumbnail' : ''}"`,
      contentType: thumbnail ? THUMBNAIL_CONTENT_TYPE : row.contentType,
      // Files are downloads only, never rendered; images (decoded, of an image type) may show inline.
      disposition: contentDisposition(thumbnail ? `${row.name}.webp` : row.name, { type: row.kind === 'image' ? 'inline' : 'attachment' }),
      open: async () => {
        const object = await this.deps.storage.get(key);
        if (!object) throw notFound(`Attachment ${id} not found`);
        return object;
      },
    };
  }

  private async checkAccess(roomId: number, access: UrlAccess): Promise<void> {
    if (access.kind === 'user') {
      await this.deps.rooms.currentMembership(access.userId, roomId);
      return;
    }
    if (await this.deps.rooms.anyoneLeftSince(roomId, access.issuedAt)) {
      throw forbidden('Someone left the room since this link was made: read the message again for a fresh link');
    }
  }
}
