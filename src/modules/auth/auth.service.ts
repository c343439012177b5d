import { ipLimitKey } from '../../lib/client-ip.ts';
import { AppError, conflict, invalidToken, rateLimited } from '../../lib/errors.ts';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { CounterLimit, RateLimiter } from '../../plugins/rate-limit.ts';
import type { PresenceService } from '../presence/presence.service.ts';
import type { UserService } from '../users/user.service.ts';
import { toUserView, type UserRecord } from '../users/user.view.ts';
import type { RegisterBody, TokenResponse } from './auth.schemas.ts';
import type { PasswordHasher } from './password-hasher.ts';
import { MAX_PASSWORD_BYTES, passwordBytes } from './password-policy.ts';

export const LOGIN_FAILURE_WINDOW_S = 15 * 60;
/** The per-account limit over all IPs is this many times the per-(account, IP) one. */
export const ACCOUNT_FAILURE_FACTOR = 10;

export interface AuthSettings {
  loginMaxFailures: number;
}

const invalidCredentials = () => new AppError('invalid_credentials', 'Incorrect email or password');

/**
 * Failed-login counters of one account: per client IP, and over all IPs. The `{…}` hash tag
 * keeps both in one Redis Cluster slot, so the reservation script may touch them together.
 */
function failureCounters(account: string, clientIp: string, maxFailures: number): { pair: CounterLimit; account: CounterLimit } {
  const tag = `{${account}}`;
  return {
    pair: { key: `auth:login_fail:${tag}:ip:${ipLimitKey(clientIp)}`, limit: maxFailures },
    account: { key: `auth:login_fail:${tag}`, limit: maxFailures * ACCOUNT_FAILURE_FACTOR },
  };
}

export class AuthService {
  /** Compared against when the account does not exist, so both failures take the same time. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly users: UserService,
    private readonly tokens: TokenService,
    private readonly presence: PresenceService,
    private readonly limiter: RateLimiter,
    private readonly events: Pick<EventBus, 'publish'>,
    private readonly hasher: PasswordHasher,
    private readonly settings: AuthSettings,
  ) {}

  /** The body is already checked against the password rules (registerBody). */
  async register(input: RegisterBody): Promise<UserRecord> {
    const taken = await this.users.findTaken(input.email, input.username);
    if (taken) {
      const field = taken.email === input.email ? 'email' : 'username';
      throw conflict(`That ${field} is already registered`);
    }
    const passwordHash = await this.hasher.hash(input.password);
    return this.users.create({
      email: input.email,
      username: input.username,
      passwordHash,
      displayName: input.display_name ?? null,
    });
  }

  /**
   * A password check is reserved before bcrypt runs, atomically over all instances: per
   * (account, client IP) at most `loginMaxFailures` failures per 15 minutes, per account over
   * all IPs ten times that. A failure keeps its slot; a success gives the account-wide slot back
   * and clears this IP's failures. So N parallel guesses get at most the limit's worth of checks,
   * and one IP's failures never lock the owner out from another.
   */
  async login(identifier: string, password: string, clientIp: string): Promise<TokenResponse> {
    // bcrypt would read only the first 72 bytes: a longer password can never be the one set.
    if (passwordBytes(password) > MAX_PASSWORD_BYTES) throw invalidCredentials();
    const user = await this.users.findByLogin(identifier);
    const counters = failureCounters(user ? `user:${user.id}` : `name:${identifier.toLowerCase()}`, clientIp, this.settings.loginMaxFailures);
    const slot = await this.limiter.reserve([counters.pair, counters.account], LOGIN_FAILURE_WINDOW_S, 'login');
    if (!slot.allowed) throw rateLimited(slot.retryAfterS, 'Too many failed logins for this account, try again later');

    let passwordMatches: boolean;
    try {
      passwordMatches = await this.hasher.compare(password, user?.passwordHash ?? (await this.unknownAccountHash()));
    } catch (error) {
      // No password was checked (queue full, bcrypt failed): the attempt does not count.
      await Promise.allSettled([this.limiter.release(counters.pair.key), this.limiter.release(counters.account.key)]);
      throw error;
    }
    if (!user || !user.isActive || !passwordMatches) throw invalidCredentials();
    await Promise.all([this.limiter.reset(counters.pair.key), this.limiter.release(counters.account.key)]);

    const token = this.tokens.issue(user.id);
    await this.presence.markOnline(user.id);
    return {
      access_token: token.accessToken,
      token_type: 'bearer',
      expires_in: token.expiresIn,
      user: toUserView({ ...user, isOnline: true }, { showEmail: true }),
    };
  }

  /** Made on first need (not at start-up), again if that failed. */
  private unknownAccountHash(): Promise<string> {
    this.dummyHash ??= this.hasher.hash('not-a-real-password').catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    return this.dummyHash;
  }

  /** Revokes the token everywhere: new requests are refused, open sockets on every instance close. */
  async logout(auth: AuthContext): Promise<void> {
    await this.tokens.revoke(auth);
    await this.events.publish({ type: 'token_revoked', jti: auth.jti, user_id: auth.userId });
    await this.presence.markOffline(auth.userId);
  }

  async currentUser(auth: AuthContext): Promise<UserRecord> {
    const user = await this.users.findActiveById(auth.userId);
    if (!user) throw invalidToken('The account behind this token no longer exists');
    return user;
  }
}
