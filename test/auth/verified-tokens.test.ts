import { describe, expect, it } from 'vitest';
import { ACCOUNT_STATE_TTL_MS, VerifiedTokens } from '../../src/plugins/auth.ts';
import { type App, useTwoTestApps } from '../helpers/app.ts';
import { createUser } from '../helpers/users.ts';

let a: App;
let b: App;

useTwoTestApps((first, second) => {
  a = first;
  b = second;
});

const me = (app: App, auth: { authorization: string }) => app.inject({ url: '/api/auth/me', headers: auth });

describe('verified tokens are cached, revocation and account state are not', () => {
  it('a logout on A is refused on B at once, though B had the token cached', async () => {
    const user = await createUser(a);
    expect((await me(b, user.auth)).statusCode).toBe(200);
    expect((await me(b, user.auth)).statusCode).toBe(200);
    expect((await a.inject({ method: 'POST', url: '/api/auth/logout', headers: user.auth })).statusCode).toBe(204);
    const refused = await me(b, user.auth);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('a deactivated account is refused within the account-state bound, cached token or not', async () => {
    const user = await createUser(a);
    expect((await me(b, user.auth)).statusCode).toBe(200);
    await a.db.user.update({ where: { id: user.id }, data: { isActive: false } });
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < ACCOUNT_STATE_TTL_MS + 2000) {
      status = (await me(b, user.auth)).statusCode;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('the token in the query string', () => {
  it('is found however its name is spelled, and only looked for when the query can hold it', async () => {
    const user = await createUser(a);
    for (const query of [`token=${user.token}`, `x=1&token=${user.token}`, `%74oken=${user.token}`]) {
      expect((await a.inject({ url: `/api/auth/me?${query}` })).statusCode, query).toBe(200);
    }
    expect((await a.inject({ url: '/api/auth/me?limit=1' })).statusCode).toBe(401);
  });
});

describe('VerifiedTokens', () => {
  const auth = (exp: number) => ({ userId: 1, jti: `j${exp}`, expiresAt: exp });

  it('forgets a token at its exp and keeps at most its size', () => {
    let now = 1_000_000;
    const tokens = new VerifiedTokens(2, () => now);
    tokens.remember('t1', auth(1010));
    expect(tokens.get('t1')?.auth.userId).toBe(1);
    now = 1_010_000; // exp is in seconds: valid while now < exp
    expect(tokens.get('t1')).toBeUndefined();
    tokens.remember('t2', auth(2000));
    tokens.remember('t3', auth(2000));
    tokens.remember('t4', auth(2000));
    expect(tokens.size).toBe(2);
    expect(tokens.get('t2')).toBeUndefined();
    expect(tokens.get('t4')?.revokedKey).toBe('auth:revoked:j2000');
  });
});
