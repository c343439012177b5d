import { z } from 'zod';

/*
 * A message shows its attachment, and a room shows its last message, so the attachment's wire
 * shape is declared here beside the message's: the attachments module serves exactly this shape
 * (and re-exports it), and rooms never imports attachments.
 */

export const ATTACHMENT_KINDS = ['image', 'file'] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

export const attachmentSchema = z
  .object({
    id: z.string().describe('Opaque attachment id'),
    room_id: z.number().int(),
    uploader_id: z.number().int(),
    name: z.string().describe('The file name as uploaded, for display only'),
    size: z.number().int().describe('Bytes'),
    content_type: z.string().describe('Judged by content: the image type, or the sniffed type of a file (application/octet-stream when unknown)'),
    kind: z.enum(ATTACHMENT_KINDS),
    width: z.number().int().nullable().describe('Images only'),
    height: z.number().int().nullable().describe('Images only'),
    url: z.string().describe('Signed and expiring (ATTACHMENT_URL_TTL_S): works in <img src> without headers'),
    thumbnail_url: z.string().nullable().describe('Images only: a WebP of at most 320 px a side, signed like url'),
    created_at: z.string(),
  })
  .meta({
    id: 'Attachment',
    examples: [
      {
        id: '3f2b8c1d9e0a4b5c6d7e8f9a0b1c2d3e',
        room_id: 10,
        uploader_id: 1,
        name: 'beach.jpg',
        size: 482133,
        content_type: 'image/jpeg',
        kind: 'image',
        width: 1600,
        height: 1200,
        url: '/api/attachments/3f2b8c1d9e0a4b5c6d7e8f9a0b1c2d3e?u=1&exp=1769160600&sig=0f1e2d3c4b5a',
        thumbnail_url: '/api/attachments/3f2b8c1d9e0a4b5c6d7e8f9a0b1c2d3e/thumbnail?u=1&exp=1769160600&sig=a5b4c3d2e1f0',
        created_at: '2026-01-23T09:30:00.000Z',
      },
    ],
  });

export type AttachmentView = z.infer<typeof attachmentSchema>;

/** An attachment as it is kept with a message (in the recent-messages cache): no signed URLs yet. */
export type AttachmentInfo = Omit<AttachmentView, 'url' | 'thumbnail_url'>;
