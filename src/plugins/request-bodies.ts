import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type AppError, payloadTooLarge, unsupportedMediaType } from '../lib/errors.ts';

/**
 * Which request bodies a route takes. JSON only, unless the route says otherwise in its
 * `config.bodies`: `POST /api/auth/login` takes a form (the OAuth2 password flow of Swagger's
 * Authorize), the avatar upload takes multipart. A body of any other type is refused with 415
 * before it is read.
 *
 * Besides tidiness this is a CSRF defence: a form post or a multipart post from another site
 * needs no CORS preflight, so a JSON route that also parsed forms could be driven by an
 * auto-submitted HTML form.
 *
 * Request bodies are never decoded (no gzip, no deflate): a `Content-Encoding` other than
 * `identity` is refused with 415 rather than parsed as if it were plain.
 */

export type BodyKind = 'json' | 'form' | 'multipart';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The request bodies this route accepts (default: JSON only). */
    bodies?: readonly BodyKind[];
  }
}

const KIND_BY_MEDIA_TYPE: ReadonlyMap<string, BodyKind> = new Map([
  ['application/json', 'json'],
  ['application/x-www-form-urlencoded', 'form'],
  ['multipart/form-data', 'multipart'],
]);

const MEDIA_TYPE_BY_KIND: Record<BodyKind, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
};

const JSON_ONLY: readonly BodyKind[] = ['json'];

/** The same test as Fastify's: a body comes when it is chunked or declares a non-zero length. */
function carriesBody(request: FastifyRequest): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = request.headers['content-length'];
  return length !== undefined && Number(length) !== 0;
}

function mediaKind(contentType: string | undefined): BodyKind | undefined {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === undefined ? undefined : KIND_BY_MEDIA_TYPE.get(mediaType);
}

/** True when `Content-Encoding` names anything but `identity` (the only coding we read). */
function encoded(request: FastifyRequest): boolean {
  const coding = request.headers['content-encoding'];
  if (coding === undefined) return false;
  return coding.split(',').some((token) => token.trim().toLowerCase() !== 'identity');
}

/** Why the request's body is refused before it is read (415, 413), or undefined when it is not. */
function bodyRefusal(request: FastifyRequest): AppError | undefined {
  if (encoded(request)) {
    return unsupportedMediaType('Request bodies are read as sent: drop Content-Encoding (only identity is accepted)');
  }
  // An unknown route answers 404 whatever its body; OPTIONS never reaches here with one that matters.
  if (!carriesBody(request) || request.routeOptions.url === undefined) return undefined;
  const accepted = request.routeOptions.config.bodies ?? JSON_ONLY;
  const kind = mediaKind(request.headers['content-type']);
  if (kind !== undefined && accepted.includes(kind)) return undefined;
  // A body too large to be read at all is refused as such (413) whatever its type, as the
  // body parser would have on its declared length.
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > request.routeOptions.bodyLimit) return payloadTooLarge('Request body is too large');
  const wanted = accepted.map((accept) => MEDIA_TYPE_BY_KIND[accept]).join(' or ');
  return unsupportedMediaType(`This route takes ${wanted} bodies only`);
}

async function requestBodiesPlugin(app: FastifyInstance): Promise<void> {
  // Callback-style: no promise per request on every route.
  app.addHook('onRequest', (request, _reply, done) => done(bodyRefusal(request)));
}

export default fp(requestBodiesPlugin, { name: 'request-bodies', dependencies: ['errors'] });
