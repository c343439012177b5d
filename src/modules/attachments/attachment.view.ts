import type { AttachmentUrls, UrlGrant } from './attachment-urls.ts';
import type { AttachmentInfo, AttachmentView } from './attachment.schemas.ts';
import type { AttachmentRow } from './attachment.store.ts';

export function toAttachmentInfo(row: AttachmentRow): AttachmentInfo {
  return {
    id: row.id,
    room_id: row.roomId,
    uploader_id: row.uploaderId,
    name: row.name,
    size: row.size,
    content_type: row.contentType,
    kind: row.kind,
    width: row.width,
    height: row.height,
    created_at: row.createdAt.toISOString(),
  };
}

/** The attachment with URLs signed for `grant` now; images have a thumbnail. */
export function signedAttachment(info: AttachmentInfo, urls: AttachmentUrls, grant: UrlGrant, nowMs = Date.now()): AttachmentView {
  return {
    ...info,
    url: urls.sign(info.id, 'file', grant, nowMs),
    thumbnail_url: info.kind === 'image' ? urls.sign(info.id, 'thumbnail', grant, nowMs) : null,
  };
}
