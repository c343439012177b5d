import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { forbidden } from '../../lib/errors.ts';
import { errorResponses } from '../../lib/http-schemas.ts';
import { parsingMultipart } from '../../lib/multipart.ts';
import { bindRoomLog } from '../../lib/room-log.ts';
import { BEARER_SECURITY, requireAuth } from '../../plugins/auth.ts';
import type { AttachmentFile } from './attachment.service.ts';
import {
  attachmentBytes,
  attachmentEnvelope,
  attachmentParams,
  attachmentUploadForm,
  signedQuery,
  type SignedQueryInput,
  uploadParams,
} from './attachment.schemas.ts';
import { tooLarge } from './attachment.upload.ts';
import type { AttachmentVariant, UrlAccess } from './attachment-urls.ts';

const tags = ['attachments'];
/** Room for the multipart framing around the file (boundaries, part headers, small fields). */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** How long the rest of a refused upload is read and thrown away before its connection is cut. */
const DISCARD_MS = 2000;

/**
 * After a 413 the rest of the body is not parsed, only drained for a moment and then cut off.
 * Closing at once would make the kernel answer the bytes still arriving with a reset, which can
 * destroy the 413 before the client has read it; draining lets it arrive, and a client that stops
 * sending keeps its connection.
 */
function discardRest(raw: IncomingMessage): void {
  if (raw.complete) return;
  const timer = setTimeout(() => raw.socket.destroy(), DISCARD_MS).unref();
  raw.once('end', () => clearTimeout(timer));
  raw.resume();
}

/** POST /api/messages/:room_id/attachments (registered under /api/messages). */
export const uploadRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticate);
  app.addHook('preHandler', bindRoomLog);
  const maxBytes = app.config.ATTACHMENT_MAX_BYTES;

  app.post('/:room_id/attachments', {
    config: { bodies: ['multipart'] },
    // A declared length over the limit is refused before any of the body is read.
    onRequest: async (request) => {
      if (Number(request.headers['content-length']) > maxBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge(maxBytes);
    },
    onResponse: async (request, reply) => {
      if (reply.statusCode === 413) discardRest(request.raw);
    },
    schema: {
      tags,
      summary: 'Upload a file into the room (multipart field "file", at most ATTACHMENT_MAX_BYTES); send it with POST /api/messages/:room_id {message_type, attachment_id}',
      description:
        'Members only. The type is judged by content: PNG, JPEG, WebP and GIF are images (decoded: 415 when they do not decode; ' +
        'with width, height and a thumbnail), anything else is a file served only as a download. 413 as soon as the body passes ' +
        'the limit. The upload is yours to send once, in this room, within 24 hours (it is deleted otherwise).',
      security: BEARER_SECURITY,
      consumes: ['multipart/form-data'],
      documentedBody: attachmentUploadForm,
      params: uploadParams,
      response: { 201: attachmentEnvelope, ...errorResponses(400, 401, 403, 404, 413, 415) },
    },
  }, async (request, reply) => {
    const { userId } = requireAuth(request);
    const attachment = await app.attachments.service.upload(userId, request.params.room_id, (limits) => parsingMultipart(() => request.file({ limits })));
    return reply.code(201).send({ attachment });
  });
};

/** GET /api/attachments/:attachment_id and /thumbnail: a signed URL, or a token, of a current member. */
export const readRoutes: FastifyPluginAsyncZod = async (app) => {
  const service = app.attachments.service;
  const urls = app.attachments.urls;

  /** The signed URL's holder, or (without a signature) the authenticated user. */
  async function accessOf(request: FastifyRequest, id: string, variant: AttachmentVariant, query: SignedQueryInput): Promise<UrlAccess> {
    if (query.sig === undefined) {
      await app.authenticate(request);
      return { kind: 'user', userId: requireAuth(request).userId };
    }
    const verified = urls.verify(id, variant, query);
    if (!verified.ok) throw forbidden(verified.reason);
    return verified.access;
  }

  async function answer(request: FastifyRequest, reply: FastifyReply, file: AttachmentFile): Promise<FastifyReply> {
    reply
      .header('etag', file.etag)
      .header('cache-control', 'private, no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      // Shown by the web client, which may live on another site (like avatars); the URL is the credential.
      .header('cross-origin-resource-policy', 'cross-origin');
    // Every use is checked (no-cache), but an unchanged file is not sent again.
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const object = await file.open();
    return reply
      .header('content-type', file.contentType)
      .header('content-length', object.size)
      .header('content-disposition', file.disposition)
      .send(object.body);
  }

  const schemaFor = (summary: string) => ({
    tags,
    summary,
    description:
      'Open the signed `url` or `thumbnail_url` of the attachment as it is (no header needed, for `<img src>`), or call with a token. ' +
      'Members only, checked on every fetch: a member who left or was removed is refused at once. Answers `ETag` and ' +
      '`Cache-Control: private, no-cache`, and 304 for an unchanged file.',
    security: BEARER_SECURITY,
    params: attachmentParams,
    querystring: signedQuery,
    response: {
      200: { description: 'The file (`Content-Disposition` inline for images, attachment otherwise)', content: { 'application/octet-stream': { schema: attachmentBytes } } },
      304: { description: 'Not modified (If-None-Match matched the ETag)', content: { 'application/octet-stream': { schema: attachmentBytes } } },
      ...errorResponses(400, 401, 403, 404),
    },
  });

  const reads = [
    ['', 'file', 'The file (members only): images inline, anything else as a download; by its signed url, or with a token'],
    ['/thumbnail', 'thumbnail', "An image's thumbnail (WebP, at most 320 px a side; members only)"],
  ] as const;
  for (const [suffix, variant, summary] of reads) {
    app.get(`/:attachment_id${suffix}`, { schema: schemaFor(summary) }, async (request, reply) => {
      const id = request.params.attachment_id;
      const access = await accessOf(request, id, variant, request.query);
      return answer(request, reply, await service.authorize(id, variant, access));
    });
  }
};
