import { randomUUID } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
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

/** A token's `sub`: a user id in its one canonical spelling (no `0x1`, `1e0`, ` 1 `, `01`). */
const SUBJECT = /^[1-9][0-9]{0,15}$/;

/** What the auth plugin needs to know about accounts; the users module registers it (AccountStates.use). */
export interface AccountLookup {
  /** The ids among `userIds` that exist and are active, in one query. */
  activeAmong(userIds: readonly number[]): Promise<Set<number>>;
  /** True when the error only means the store is out of reach. */
  isUnavailable(error: unknown): boolean;
}

/** How long an account's state is believed: a deactivated user's tokens stop working within this. */
export const ACCOUNT_STATE_TTL_MS = 4000;
/** Ids per query, for the batched checks of open sockets and streams. */
const LOOKUP_CHUNK = 1000;

interface KnownState {
  active: boolean;
  checkedAt: number;
}

/**
 * Whether a token's user still exists and is active, remembered per process for at most
 * ACCOUNT_STATE_TTL_MS, so a deactivated or deleted account is refused everywhere within that
 * time while the hot path asks MySQL at most once per user and period. Users first seen in the
 * same tick are looked up in one query.
 *
 * While MySQL is out of reach the last known state is used, and a user never seen is let
 * through (logged): what they then do needs MySQL too and gets its 503, and a socket or stream
 * of theirs is closed by the next periodic check once MySQL answers again.
 */
export class AccountStates {
  private lookup: AccountLookup | undefined;
  private readonly known = new Map<number, KnownState>();
  private readonly inFlight = new Map<number, Promise<boolean>>();
  private batch: { ids: Set<number>; result: Promise<Set<number>> } | undefined;

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly ttlMs = ACCOUNT_STATE_TTL_MS,
    private readonly maxEntries = 100_000,
  ) {}

  use(lookup: AccountLookup): void {
    if (this.lookup) throw new Error('An account lookup is already registered');
    this.lookup = lookup;
  }

  isActive(userId: number): Promise<boolean> {
    const known = this.known.get(userId);
    if (known && Date.now() - known.checkedAt < this.ttlMs) return Promise.resolve(known.active);
    return this.inFlight.get(userId) ?? this.load(userId);
  }

  /** Asks the store now (no cache) about every one of `userIds`; the ones not active. Rejects when the store fails. */
  async inactiveAmong(userIds: readonly number[]): Promise<number[]> {
    const ids = [...new Set(userIds)];
    const active = new Set<number>();
    for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
      for (const id of await this.lookupNow(ids.slice(start, start + LOOKUP_CHUNK))) active.add(id);
    }
    return ids.filter((id) => !active.has(id));
  }

  private load(userId: number): Promise<boolean> {
    const batch = this.openBatch();
    batch.ids.add(userId);
    const answer = batch.result
      .then(
        (active) => active.has(userId),
        (error: unknown) => this.whenUnavailable(userId, error),
      )
      .finally(() => this.inFlight.delete(userId));
    this.inFlight.set(userId, answer);
    return answer;
  }

  /** The batch of this tick, or a new one sent on the next. */
  private openBatch(): { ids: Set<number>; result: Promise<Set<number>> } {
    if (this.batch && this.batch.ids.size < LOOKUP_CHUNK) return this.batch;
    const ids = new Set<number>();
    const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      if (this.batch?.ids === ids) this.batch = undefined;
      return this.lookupNow([...ids]);
    });
    // Each waiter handles the rejection (whenUnavailable); this logs it once per batch.
    result.catch((error: unknown) => {
      if (this.lookup?.isUnavailable(error)) this.log.warn({ err: error, users: ids.size }, 'account states unknown (store unavailable): using the last known ones');
    });
    const batch = { ids, result };
    this.batch = batch;
    return batch;
  }

  private async lookupNow(ids: readonly number[]): Promise<Set<number>> {
    if (!this.lookup) throw new Error('No account lookup registered (the users module registers it)');
    if (ids.length === 0) return new Set();
    const askedAt = Date.now();
    const active = await this.lookup.activeAmong(ids);
    for (const id of ids) this.remember(id, active.has(id), askedAt);
    return active;
  }

  private whenUnavailable(userId: number, error: unknown): boolean {
    if (!this.lookup?.isUnavailable(error)) throw error;
    return this.known.get(userId)?.active ?? true;
  }

  private remember(userId: number, active: boolean, checkedAt: number): void {
    // Re-inserted, so the map stays in check order and the oldest entry is the first one.
    this.known.delete(userId);
    this.known.set(userId, { active, checkedAt });
    if (this.known.size > this.maxEntries) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
  }
}

/** Issues, checks and revokes access tokens. Revocation lives in Redis so all instances see it. */
export class TokenService {
  constructor(
    private readonly jwt: TokenSigner,
    private readonly redis: Redis,
    private readonly lifetimeS: number,
    readonly accounts: AccountStates,
  ) {}

  issue(userId: number): IssuedToken {
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = { sub: String(userId), jti: randomUUID(), iat, exp: iat + this.lifetimeS };
    return { accessToken: this.jwt.sign(claims), expiresIn: this.lifetimeS, claims };
  }

  /**
   * Verifies signature, expiry, revocation and that the user exists and is active (as of at most
   * ACCOUNT_STATE_TTL_MS ago); throws 401 `invalid_token` otherwise.
   */
  async verify(token: string): Promise<AuthContext> {
    const claims = this.decode(token);
    const userId = Number(claims.sub);
    const [revoked, active] = await Promise.all([this.isRevoked(claims.jti), this.accounts.isActive(userId)]);
    if (revoked) throw invalidToken('Token has been revoked');
    if (!active) throw invalidToken('The account behind this token does not exist or is deactivated');
    return { userId, jti: claims.jti, expiresAt: claims.exp };
  }

  /** Of these users (with open sockets or streams), the ones deleted or deactivated: one fresh query. */
  inactiveAmong(userIds: readonly number[]): Promise<number[]> {
    return this.accounts.inactiveAmong(userIds);
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
    const { sub, jti, exp } = claims;
    if (typeof sub !== 'string' || !SUBJECT.test(sub) || !Number.isSafeInteger(Number(sub))) throw invalidToken('Malformed access token');
    if (typeof jti !== 'string' || jti.length === 0 || typeof exp !== 'number') throw invalidToken('Malformed access token');
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
  const accounts = new AccountStates(app.log.child({ component: 'account-states' }));
  const tokens = new TokenService(app.jwt, app.redis, app.config.JWT_EXPIRES_IN, accounts);
  app.decorate('tokens', tokens);
  app.decorateRequest('auth', null);

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = extractToken(request);
    if (!token) throw invalidToken('Missing access token');
    request.auth = await tokens.verify(token).catch((error: unknown) => app.refusedAuthentication(request, error));
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
