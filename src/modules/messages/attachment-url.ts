/** This server's avatar and other public files: plain segments, none starting with a dot (no `..`). */
const OWN_UPLOAD_PATH = /^\/uploads\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** This server's attachment URLs (as `url`/`thumbnail_url` give them, signed or not). */
const OWN_ATTACHMENT_PATH = /^\/api\/attachments\/[0-9a-f]{32}(?:\/thumbnail)?(?:\?[A-Za-z0-9=&_.~-]*)?$/;

/**
 * An `attachment_url` a sender may give without an attachment: an `https:` URL (no credentials
 * in it), or one of this server's own `/uploads/` or attachment paths. Anything else (http:,
 * javascript:, data:, other paths, `//host` references) would be rendered by other members'
 * clients, so it is refused.
 */
export function isAcceptedAttachmentUrl(url: string): boolean {
  if (OWN_UPLOAD_PATH.test(url) || OWN_ATTACHMENT_PATH.test(url)) return true;
  if (/\s/.test(url) || !URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.protocol === 'https:' && parsed.hostname !== '' && parsed.username === '' && parsed.password === '';
}
