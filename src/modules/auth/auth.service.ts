import bcrypt from 'bcrypt';
import { AppError, conflict, invalidToken, rateLimited } from '../../lib/errors.ts';
import type { AuthContext, TokenService } from '../../plugins/auth.ts';
import type { EventBus } from '../../plugins/events.ts';
import type { RateLimiter } from '../../plugins/rate-limit.ts';
import type { PresenceService } from '../presence/presence.service.ts';
import type { UserService } from '../users/user.service.ts';
import { toUserView, type UserRecord } from '../users/user.view.ts';
import type { RegisterBody, TokenResponse } from './auth.schemas.ts';

const LOGIN_FAILURE_WINDOW_S = 15 * 60;

export interface AuthSettings {
  bcryptRounds: number;
  loginMaxFailures: number;
}

export class AuthService {
  /** Compared against when the account does not exist, so both failures take the same time. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly users: UserService,
    private readonly tokens: TokenService,
    private readonly presence: PresenceService,
    private readonly limiter: RateLimiter,
    private readonly events: Pick<EventBus, 'publish'>,
    private readonly settings: AuthSettings,
  ) {
    this.dummyHash = bcrypt.hash('not-a-real-password', settings.bcryptRounds);
  }

  async register(input: RegisterBody): Promise<UserRecord> {
    const taken = await this.users.findTaken(input.email, input.username);
    if (taken) {
      const field = taken.email === input.email ? 'email' : 'username';
      throw conflict(`That ${field} is already registered`);
    }
    const passwordHash = await bcrypt.hash(input.password, this.settings.bcryptRounds);
    return this.users.create({
      email: input.email,
      username: input.username,
      passwordHash,
      displayName: input.display_name ?? null,
    });
  }

  async login(identifier: string, password: string): Promise<TokenResponse> {
    const user = await this.users.findByLogin(identifier);
    const failureKey = user ? `auth:login_fail:user:${user.id}` : `auth:login_fail:name:${identifier.toLowerCase()}`;
    const gate = await this.limiter.peek(failureKey, this.settings.loginMaxFailures);
    if (gate.blocked) throw rateLimited(gate.retryAfterS, 'Too many failed logins for this account, try again later');

    const passwordMatches = await bcrypt.compare(password, user?.passwordHash ?? (await this.dummyHash));
    if (!user || !user.isActive || !passwordMatches) {
      await this.limiter.increment(failureKey, LOGIN_FAILURE_WINDOW_S);
      throw new AppError('invalid_credentials', 'Incorrect email or password');
    }
    await this.limiter.reset(failureKey);

    const token = this.tokens.issue(user.id);
    await this.presence.markOnline(user.id);
    return {
      access_token: token.accessToken,
      token_type: 'bearer',
      expires_in: token.expiresIn,
      user: toUserView({ ...user, isOnline: true }, { showEmail: true }),
    };
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
