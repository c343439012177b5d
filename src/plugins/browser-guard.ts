import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import { parseOrigins } from '../config.ts';
import { forbidden } from '../lib/errors.ts';
import { AUTH_COOKIE, extractToken } from './auth.ts';

/**
 * Browser safety (the contract's Security section). A browser attaches the `jwt_token` cookie
 * to requests that other pages make, so the cookie alone is weak proof of intent; a token in
 * `Authorization` or `?token=` is strong proof (a page can only send it if it knows it).
 *
 * - CORS: only allowed origins may call *with credentials* (their origin is echoed with
 *   `Access-Control-Allow-Credentials`); every other origin gets `Access-Control-Allow-Origin: *`
 *   without credentials, so a bearer token works from any page but the cookie never does.
 * - A state-changing request (POST, PUT, PATCH, DELETE) or WebSocket upgrade authenticated by
 *   the cookie alone must come from this server's own origin or an allowed one: judged by
 *   `Origin`, else `Sec-Fetch-Site`. That covers what CORS cannot: form posts and multipart
 *   (no preflight) and WebSocket upgrades (no CORS at all). A request with neither header is
 *   not from a browser, so it cannot be a forged one, and passes.
 * - Security headers (helmet) on every response.
 */

/** Any port of localhost / 127.0.0.1 over http: the development default of the allow-list. */
const LOCAL_DEVELOPMENT_ORIGIN = /^http:\/\/(?:localhost|127\.0\.0\.1)(?::\d{1,5})?$/;

/** A serialized origin exactly as browsers send it (`scheme://host[:port]`), else undefined. */
function exactOrigin(value: string | undefined): string | undefined {
  if (!value || value === 'null') return undefined;
  try {
    const origin = new URL(value).origin;
    return origin === value ? origin : undefined;
  } catch {
    return undefined;
  }
}

/** Which browser origins may call with credentials (`CORS_ORIGINS`, or the development default). */
export class OriginPolicy {
  private readonly listed: ReadonlySet<string> | undefined;

  constructor(origins: readonly string[] | undefined, private readonly production: boolean) {
    this.listed = origins ? new Set(origins) : undefined;
  }

  static fromConfig(config: FastifyInstance['config']): OriginPolicy {
    return new OriginPolicy(parseOrigins(config.CORS_ORIGINS), config.NODE_ENV === 'production');
  }

  /** True when `origin` (an `Origin` header) may call with credentials; `null` never may. */
  allows(origin: string | undefined): boolean {
    const exact = exactOrigin(origin);
    if (!exact) return false;
    if (this.listed) return this.listed.has(exact);
    return !this.production && LOCAL_DEVELOPMENT_ORIGIN.test(exact);
  }
}

// Joined once: cors would join arrays again on every request.
const EXPOSED_HEADERS = ['Retry-After', 'X-Request-Id'].join(', ');
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].join(', ');
/** Browsers may cache a preflight answer this long (seconds; Chrome caps it at 7200). */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * @fastify/cors options: an allowed origin is echoed with credentials; any other (or none, or
 * `null`) gets `*` without credentials. Requested headers (`Authorization` among them) are
 * allowed either way, so a bearer token works from any page.
 *
 * Per-request options (cors' `delegator`) rather than an `origin` function, because what differs
 * per origin is not only the echoed origin but also whether credentials are allowed.
 */
export function corsOptions(policy: OriginPolicy): FastifyCorsOptions {
  const shared = { methods: METHODS, exposedHeaders: EXPOSED_HEADERS, maxAge: PREFLIGHT_MAX_AGE_S } satisfies FastifyCorsOptions;
  const withCredentials: FastifyCorsOptions = { ...shared, origin: true, credentials: true };
  const withoutCredentials: FastifyCorsOptions = { ...shared, origin: '*', credentials: false };
  return {
    delegator: (request, callback) => callback(null, policy.allows(request.headers.origin) ? withCredentials : withoutCredentials),
  };
}

/**
 * helmet's options. The CSP allows only same-origin scripts, styles, images and fetches:
 * Swagger UI at /docs loads its bundle, its stylesheet and its initializer as files from this
 * origin and has no inline script (its React components set styles through the DOM, which CSP
 * does not govern; `'unsafe-inline'` styles stay allowed for the few style attributes in its
 * markup). The web client at /app/ (one bundled script, one stylesheet, avatars under /uploads/,
 * attachments under /api/attachments/, its WebSocket and EventSource to this origin: CSP's
 * 'self' covers ws: to the same host) needs only `blob:` images besides. HSTS and
 * `upgrade-insecure-requests` only in production: a development server on plain
 * http://localhost must keep working.
 */
export function helmetOptions(production: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'self'"],
        'connect-src': ["'self'"],
        'font-src': ["'self'", 'data:'],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        // blob: for the web client's previews of a picture before it is uploaded (avatars, attachments).
        'img-src': ["'self'", 'data:', 'blob:'],
        'object-src': ["'none'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        ...(production ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // API answers are read through CORS (which CORP does not govern); uploads set their own.
    crossOriginResourcePolicy: { policy: 'same-site' },
  };
}

const noop = () => {};

/**
 * helmet's headers on every response, from one middleware built at start-up. (@fastify/helmet
 * builds a new one for every request, parsing the CSP directives each time: 7-9% of a cached
 * history page's CPU.) Nothing in them depends on the request; helmet sets them synchronously.
 */
async function securityHeadersPlugin(app: FastifyInstance, options: HelmetOptions): Promise<void> {
  const setHeaders = helmet(options);
  app.addHook('onRequest', (request, reply, done) => {
    setHeaders(request.raw, reply.raw, noop);
    done();
  });
}

export const securityHeaders = fp(securityHeadersPlugin, { name: 'security-headers' });

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The values of `Sec-Fetch-Site` (anything else is logged as "other", never verbatim). */
const FETCH_SITES: ReadonlySet<string> = new Set(['same-origin', 'same-site', 'cross-site', 'none']);

function isWebSocketUpgrade(request: FastifyRequest): boolean {
  return request.method === 'GET' && request.headers.upgrade?.toLowerCase() === 'websocket';
}

/**
 * True when the credential the request is authenticated by is the `jwt_token` cookie: no
 * `Authorization: Bearer` and no `?token=`, which `extractToken` prefers. A page that sends the
 * token itself (even the same one as the cookie) knows it, which no forged request does.
 */
export function authenticatedByCookieAlone(request: FastifyRequest): boolean {
  const cookie = request.cookies?.[AUTH_COOKIE];
  if (!cookie || extractToken(request) !== cookie) return false;
  return !(request.headers.authorization?.includes(cookie) ?? false) && !request.url.includes(cookie);
}

/** This server's own origin as the browser sees it (behind a trusted proxy: its forwarded one). */
function ownOrigin(request: FastifyRequest): string | undefined {
  try {
    return new URL(`${request.protocol}://${request.host}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether a browser sent this request from a page we trust: `Origin` (this server's own or an
 * allowed one), else `Sec-Fetch-Site` (`same-origin`, or `none` for what the user did
 * themselves). `Sec-Fetch-Site: same-origin` also wins over an `Origin` that looks foreign only
 * because a proxy in front changed scheme or host. Neither header: not a browser, passes.
 */
export function fromTrustedPage(request: FastifyRequest, policy: OriginPolicy): boolean {
  const origin = request.headers.origin;
  const fetchSite = request.headers['sec-fetch-site'];
  if (origin === undefined && fetchSite === undefined) return true;
  if (origin !== undefined && origin !== 'null' && (origin === ownOrigin(request) || policy.allows(origin))) return true;
  return fetchSite === 'same-origin' || fetchSite === 'none';
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The browser origins allowed to call with credentials. */
    origins: OriginPolicy;
  }
}

async function browserGuardPlugin(app: FastifyInstance): Promise<void> {
  const policy = OriginPolicy.fromConfig(app.config);
  app.decorate('origins', policy);

  // Global, so it runs before every route's own `onRequest: app.authenticate`; callback-style,
  // so the GETs it lets through cost no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!STATE_CHANGING.has(request.method) && !isWebSocketUpgrade(request)) return done();
    if (!authenticatedByCookieAlone(request) || fromTrustedPage(request, policy)) return done();
    const fetchSite = request.headers['sec-fetch-site'];
    request.log.info(
      { origin: exactOrigin(request.headers.origin) ?? 'other', fetchSite: fetchSite && FETCH_SITES.has(fetchSite) ? fetchSite : 'other' },
      'cross-origin cookie request refused',
    );
    done(forbidden(
      'A request authenticated by the jwt_token cookie alone must come from this site or an allowed origin; send the token in the Authorization header instead',
    ));
  });
}

export default fp(browserGuardPlugin, { name: 'browser-guard', dependencies: ['config', 'errors', '@fastify/cookie'] });
