import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignedQueryInput as SignedQuery } from './attachment.schemas.ts';

export type AttachmentVariant = 'file' | 'thumbnail';

/**
 * Who a signed URL was given to, which is what a fetch is checked against:
 * - `user`: one member (REST reads, where the reader is known): valid while that user is a member.
 * - `room`: the room's members at signing time (live events: one frame goes to every member's
 *   socket, so it cannot name one user): valid while nobody has left the room since `issuedAt`.
 * Either way a member who leaves or is removed cannot fetch with any URL signed before.
 */
export type UrlGrant = { kind: 'user'; userId: number } | { kind: 'room' };
export type UrlAccess = { kind: 'user'; userId: number } | { kind: 'room'; issuedAt: Date };


export type Verification = { ok: true; access: UrlAccess } | { ok: false; reason: string };

const SIGNATURE_BYTES = 16;

/**
 * HMAC-SHA256 signed, expiring attachment URLs, so `<img src>` works without an Authorization
 * header. The signature covers the attachment, the variant, the grant and the expiry; the key is
 * derived from JWT_SECRET (no second secret to manage). Access is still checked on every fetch.
 */
export class AttachmentUrls {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly ttlS: number,
  ) {
    this.key = createHmac('sha256', secret).update('bigtech-chat attachment urls v1').digest();
  }

  path(id: string, variant: AttachmentVariant): string {
    return `/api/attachments/${id}${variant === 'thumbnail' ? '/thumbnail' : ''}`;
  }

  sign(id: string, variant: AttachmentVariant, grant: UrlGrant, nowMs = Date.now()): string {
    const nowS = Math.floor(nowMs / 1000);
    const exp = nowS + this.ttlS;
    const holder = grant.kind === 'user' ? `u=${grant.userId}` : `t=${nowS}`;
    return `${this.path(id, variant)}?${holder}&exp=${exp}&sig=${this.signature(id, variant, holder, exp)}`;
  }

  verify(id: string, variant: AttachmentVariant, query: SignedQuery, nowMs = Date.now()): Verification {
    const { exp, u, t, sig } = query;
    if (sig === undefined || exp === undefined || (u === undefined) === (t === undefined)) {
      return { ok: false, reason: 'The attachment link is incomplete' };
    }
    const holder = u !== undefined ? `u=${u}` : `t=${t}`;
    const expected = Buffer.from(this.signature(id, variant, holder, exp));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'The attachment link is not valid' };
    if (exp * 1000 <= nowMs) return { ok: false, reason: 'The attachment link has expired: read the message again for a fresh one' };
    return { ok: true, access: u !== undefined ? { kind: 'user', userId: u } : { kind: 'room', issuedAt: new Date((t ?? 0) * 1000) } };
  }

  private signature(id: string, variant: AttachmentVariant, holder: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${id}|${variant}|${holder}|${exp}`).digest().subarray(0, SIGNATURE_BYTES).toString('base64url');
  }
}
