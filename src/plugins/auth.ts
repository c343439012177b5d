import { randomUUID } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Logger as PinoLogger } from 'pino';
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
    const known = this.knownActive(userId);
    if (known !== undefined) return Promise.resolve(known);
    return this.inFlight.get(userId) ?? this.load(userId);
  }

  /** The state checked less than the TTL ago, without waiting; undefined when it must be asked. */
  knownActive(userId: number): boolean | undefined {
    const known = this.known.get(userId);
    return known && Date.now() - known.checkedAt < this.ttlMs ? known.active : undefined;
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

/** What a verified token says, kept with its revocation key so a repeated token allocates nothing. */
interface VerifiedToken {
  auth: Readonly<AuthContext>;
  revokedKey: string;
}

/**
 * Tokens whose signature and claims were verified, keyed by the raw token (a client sends the
 * same one on every request), so a repeat skips the HMAC, the JSON parse and the claim checks.
 * An entry is kept until the token's `exp` and no longer, at most `maxEntries` of them (the
 * oldest go first). It says nothing about revocation or the account: those are checked on every
 * request (TokenService.verify).
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(token: string): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    // The same rule as the verifier: a token is valid while now < exp.
    if (this.now() < entry.auth.expiresAt * 1000) return entry;
    this.entries.delete(token);
    return undefined;
  }

  remember(token: string, auth: AuthContext): VerifiedToken {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    const entry = { auth: Object.freeze(auth), revokedKey: revokedKey(auth.jti) };
    this.entries.set(token, entry);
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Counts a signed-in call on its user's API limit in the round trip that checks the token's
 * revocation (abuse-limits registers it: TokenService.countCallsWith), so an authenticated
 * request asks Redis once before its handler instead of twice.
 */
export interface ApiCallCounter {
  /**
   * Checks `revokedKey` and, only when it does not exist, counts this request's call for
   * `userId`, in one Redis script; resolves true when the token is revoked (nothing counted).
   * Undefined when this request is not counted that way: verification then checks revocation alone.
   */
  countUnlessRevoked(request: FastifyRequest, userId: number, revokedKey: string): Promise<boolean> | undefined;
}

/** Issues, checks and revokes access tokens. Revocation lives in Redis so all instances see it. */
export class TokenService {
  private counter: ApiCallCounter | undefined;

  constructor(
    private readonly jwt: TokenSigner,
    private readonly redis: Redis,
    private readonly lifetimeS: number,
    readonly accounts: AccountStates,
    private readonly verified = new VerifiedTokens(),
  ) {}

  issue(userId: number): IssuedToken {
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = { sub: String(userId), jti: randomUUID(), iat, exp: iat + this.lifetimeS };
    return { accessToken: this.jwt.sign(claims), expiresIn: this.lifetimeS, claims };
  }

  countCallsWith(counter: ApiCallCounter): void {
    if (this.counter) throw new Error('An API call counter is already registered');
    this.counter = counter;
  }

  /**
   * Verifies signature, expiry, revocation and that the user exists and is active (as of at most
   * ACCOUNT_STATE_TTL_MS ago); throws 401 `invalid_token` otherwise. The signature and claims of
   * a token seen before come from VerifiedTokens; revocation is asked of Redis every time, so a
   * logout on any instance is refused on every instance from then on. With `request`, the
   * revocation check of a user known to be active also counts the call (ApiCallCounter).
   */
  async verify(token: string, request?: FastifyRequest): Promise<Readonly<AuthContext>> {
    const { auth, revokedKey: key } = this.verified.get(token) ?? this.verified.remember(token, this.decode(token));
    const known = this.accounts.knownActive(auth.userId);
    if (known === false) throw inactiveAccount();
    // An account not known to be active may turn out not to be: its call is not counted on the
    // user here (a refused call counts against the address), only by the API limit once allowed.
    const [revoked, active] = known
      ? [await this.isRevokedCounting(key, auth.userId, request), true]
      : await Promise.all([this.isRevokedKey(key), this.accounts.isActive(auth.userId)]);
    if (revoked) throw invalidToken('Token has been revoked');
    if (!active) throw inactiveAccount();
    return auth;
  }

  /** Of these users (with open sockets or streams), the ones deleted or deactivated: one fresh query. */
  inactiveAmong(userIds: readonly number[]): Promise<number[]> {
    return this.accounts.inactiveAmong(userIds);
  }

  async revoke(auth: AuthContext): Promise<void> {
    const remainingS = Math.max(1, auth.expiresAt - Math.floor(Date.now() / 1000));
    await this.redis.set(revokedKey(auth.jti), '1', 'EX', remainingS);
  }

  isRevoked(jti: string): Promise<boolean> {
    return this.isRevokedKey(revokedKey(jti));
  }

  private isRevokedCounting(key: string, userId: number, request: FastifyRequest | undefined): Promise<boolean> {
    return (request && this.counter?.countUnlessRevoked(request, userId, key)) ?? this.isRevokedKey(key);
  }

  private async isRevokedKey(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }

  /** The jtis among `jtis` that are revoked, in one pipelined round trip. */
  async revokedAmong(jtis: readonly string[]): Promise<string[]> {
    if (jtis.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const jti of jtis) pipeline.exists(revokedKey(jti));
    const results = (await pipeline.exec()) ?? [];
    return jtis.filter((_, i) => results[i]?.[1] === 1);
  }

  private decode(token: string): AuthContext {
    let claims: Partial<AccessClaims>;
    try {
      claims = this.jwt.verify<Partial<AccessClaims>>(token);
    } catch {
      throw invalidToken('Invalid or expired access token');
    }
    const { sub, jti, exp } = claims;
    if (typeof sub !== 'string' || !SUBJECT.test(sub) || !Number.isSafeInteger(Number(sub))) throw invalidToken('Malformed access token');
    if (typeof jti !== 'string' || jti.length === 0 || typeof exp !== 'number') throw invalidToken('Malformed access token');
    return { userId: Number(sub), jti, expiresAt: exp };
  }
}

const inactiveAccount = () => invalidToken('The account behind this token does not exist or is deactivated');

const revokedKey = (jti: string) => `auth:revoked:${jti}`;

/**
 * Whether the query string can name `token` at all, so that the common query without it (a
 * history cursor, a limit) is not parsed on every request. A `%` may spell the name encoded.
 */
function mayHoldToken(url: string, queryStart: number): boolean {
  return url.includes('token=', queryStart) || url.includes('%', queryStart);
}

/** Token from `Authorization: Bearer`, else the `token` query parameter, else the `jwt_token` cookie. */
export function extractToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (match) return match[1];
  }
  const queryStart = request.url.indexOf('?');
  if (queryStart !== -1 && mayHoldToken(request.url, queryStart)) {
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

type BindableLogger = FastifyBaseLogger & Partial<Pick<PinoLogger, 'setBindings'>>;

/**
 * Every later log line of the request names its user. The request's logger is its own child
 * (Fastify makes one per request), so pino's setBindings adds to it in place instead of making
 * yet another child per request.
 */
function bindUser(request: FastifyRequest, userId: number): void {
  const log: BindableLogger = request.log;
  if (log.setBindings) log.setBindings({ userId });
  else request.log = request.log.child({ userId });
}

async function authPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyJwt, {
    secret: app.config.JWT_SECRET,
    sign: { algorithm: 'HS256' },
    // No cache here: TokenService keeps verified tokens itself (VerifiedTokens).
    verify: { algorithms: ['HS256'] },
  });
  const accounts = new AccountStates(app.log.child({ component: 'account-states' }));
  const tokens = new TokenService(app.jwt, app.redis, app.config.JWT_EXPIRES_IN, accounts);
  app.decorate('tokens', tokens);
  app.decorateRequest('auth', null);

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = extractToken(request);
    if (!token) throw invalidToken('Missing access token');
    request.auth = await tokens.verify(token, request).catch((error: unknown) => app.refusedAuthentication(request, error));
    bindUser(request, request.auth.userId);
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
