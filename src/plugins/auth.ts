import { randomUUID } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { invalidToken } from '../lib/errors.ts';

export const AUTH_COOKIE = 'jwt_token';
export const BEARER_SECURITY: Record<string, string[]>[] = [{ OAuth2PasswordBearer: [] }, { BearerAuth: [] }];

export interface AccessClaims {
  sub: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface AuthContext {
  userId: number;
  jti: string;
  expiresAt: number;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  claims: AccessClaims;
}

type TokenSigner = Pick<FastifyInstance['jwt'], 'sign' | 'verify'>;

/** Issues, checks and revokes access tokens. Revocation lives in Redis so all instances see it. */
export class TokenService {
  constructor(
    private readonly jwt: TokenSigner,
    private readonly redis: Redis,
    private readonly lifetimeS: number,
  ) {}

  issue(userId: number): IssuedToken {
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = { sub: String(userId), jti: randomUUID(), iat, exp: iat + this.lifetimeS };
    return { accessToken: this.jwt.sign(claims), expiresIn: this.lifetimeS, claims };
  }

  /** Verifies signature, expiry and revocation; throws 401 `invalid_token` otherwise. */
  async verify(token: string): Promise<AuthContext> {
    const claims = this.decode(token);
    if (await this.isRevoked(claims.jti)) throw invalidToken('Token has been revoked');
    return { userId: Number(claims.sub), jti: claims.jti, expiresAt: claims.exp };
  }

  async revoke(auth: AuthContext): Promise<void> {
    const remainingS = Math.max(1, auth.expiresAt - Math.floor(Date.now() / 1000));
    await this.redis.set(revokedKey(auth.jti), '1', 'EX', remainingS);
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.redis.exists(revokedKey(jti))) === 1;
  }

  /** The jtis among `jtis` that are revoked, in one pipelined round trip. */
  async revokedAmong(jtis: readonly string[]): Promise<string[]> {
    if (jtis.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const jti of jtis) pipeline.exists(revokedKey(jti));
    const results = (await pipeline.exec()) ?? [];
    return jtis.filter((_, i) => results[i]?.[1] === 1);
  }

  private decode(token: string): AccessClaims {
    let claims: Partial<AccessClaims>;
    try {
      claims = this.jwt.verify<Partial<AccessClaims>>(token);
    } catch {
      throw invalidToken('Invalid or expired access token');
    }
    const userId = Number(claims.sub);
    if (!Number.isSafeInteger(userId) || userId <= 0 || typeof claims.jti !== 'string' || typeof claims.exp !== 'number') {
      throw invalidToken('Malformed access token');
    }
    return claims as AccessClaims;
  }
}

const revokedKey = (jti: string) => `auth:revoked:${jti}`;

/** Token from `Authorization: Bearer`, else the `token` query parameter, else the `jwt_token` cookie. */
export function extractToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (match) return match[1];
  }
  const queryStart = request.url.indexOf('?');
  if (queryStart !== -1) {
    const fromQuery = new URLSearchParams(request.url.slice(queryStart + 1)).get('token');
    if (fromQuery) return fromQuery;
  }
  return request.cookies?.[AUTH_COOKIE] || undefined;
}

/** The signed-in user of a request that went through `authenticate`. */
export function requireAuth(request: FastifyRequest): AuthContext {
  if (!request.auth) throw invalidToken();
  return request.auth;
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService;
    /** onRequest hook: 401 unless a valid, unrevoked token is present (the get_current_user dependency). */
    authenticate(request: FastifyRequest): Promise<void>;
    /** onRequest hook: attaches the user when a valid token is present, lets anonymous requests through. */
    authenticateOptional(request: FastifyRequest): Promise<void>;
  }
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

async function authPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyJwt, {
    secret: app.config.JWT_SECRET,
    sign: { algorithm: 'HS256' },
    // Verified tokens are cached (signature and claims; expiry is still checked on every hit),
    // so a client's repeated requests skip the HMAC. Revocation is checked separately, always.
    verify: { algorithms: ['HS256'], cache: 10_000 },
  });
  const tokens = new TokenService(app.jwt, app.redis, app.config.JWT_EXPIRES_IN);
  app.decorate('tokens', tokens);
  app.decorateRequest('auth', null);

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = extractToken(request);
    if (!token) throw invalidToken('Missing access token');
    request.auth = await tokens.verify(token);
    request.log = request.log.child({ userId: request.auth.userId });
  });

  app.decorate('authenticateOptional', async (request: FastifyRequest) => {
    const token = extractToken(request);
    if (!token) return;
    try {
      request.auth = await tokens.verify(token);
    } catch {
      request.auth = null;
    }
  });
}

export default fp(authPlugin, { name: 'auth', dependencies: ['config', 'redis'] });
