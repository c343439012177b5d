import { z } from 'zod';
import { idParam } from '../../lib/http-schemas.ts';
import { ATTACHMENT_KINDS, type AttachmentInfo, attachmentSchema, type AttachmentView } from '../rooms/room-attachment.schemas.ts';

// The attachment's wire shape is declared by rooms (a message, and so a room, shows it).
export { ATTACHMENT_KINDS, type AttachmentInfo, attachmentSchema, type AttachmentView };

/** Attachment ids: 128 random bits in hex. */
export const ATTACHMENT_ID = /^[0-9a-f]{32}$/;

export const attachmentEnvelope = z.object({ attachment: attachmentSchema }).meta({ id: 'AttachmentResponse' });

/** For the document only (the handler streams the file itself): a file picker in Swagger UI. */
export const attachmentUploadForm = z
  .object({ file: z.file().describe('Any file, at most ATTACHMENT_MAX_BYTES; PNG, JPEG, WebP and GIF (judged by content) are images') })
  .meta({ id: 'AttachmentUpload' });

/** The bytes of a file or thumbnail (for the document). */
export const attachmentBytes = z.string().meta({ id: 'AttachmentBytes', format: 'binary', description: 'The file itself' });

export const uploadParams = z.object({ room_id: idParam });

export const attachmentParams = z.object({
  // Any string: an id this server could never have issued is simply not found (404).
  attachment_id: z.string().min(1).max(200).describe('Opaque attachment id'),
});

const unixSeconds = z.coerce.number().int().min(0).max(2 ** 40);

/** The signature of a signed URL (as `url`/`thumbnail_url` give it); without it, the request must carry a token. */
export const signedQuery = z.object({
  u: z.coerce.number().int().positive().max(2 ** 31).optional().describe('Signed for this member'),
  t: unixSeconds.optional().describe('Signed for the room at this time (live events)'),
  exp: unixSeconds.optional().describe('Expiry, Unix seconds'),
  sig: z.string().max(64).optional().describe('Signature'),
});

export type SignedQueryInput = z.infer<typeof signedQuery>;
