import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipLimitKey } from '../../src/lib/client-ip.ts';
import { type App, createTestApp, startTestServer, uniqueName } from '../helpers/app.ts';
import { waitUntil } from '../helpers/faults.ts';
import { createUser, type TestUser } from '../helpers/users.ts';

/**
 * Login limits against hostile clients (issue 11), with the defaults of src/config.ts
 * (LOGIN_MAX_FAILURES 10 per (account, IP) per 15 min, 100 per account, AUTH_RATE_PER_IP 60 a
 * minute): an empty override means "unset" there, so the default applies. Two instances on real
 * ports; clients take distinct loopback addresses (127.x.y.z) to be distinct IPs.
 */

const DEFAULTS = { LOGIN_MAX_FAILURES: '', AUTH_RATE_PER_IP: '' };
const MAX_FAILURES = 10;
const WINDOW_S = 15 * 60;

let a: App;
let b: App;
let urlA: string;
let urlB: string;

beforeAll(async () => {
  // The per-IP call limit is raised here (150 guesses from one IP); it has its own test with its default.
  const overrides = { ...DEFAULTS, AUTH_RATE_PER_IP: '100000' };
  [{ app: a, baseUrl: urlA }, { app: b, baseUrl: urlB }] = await Promise.all([startTestServer(overrides), startTestServer(overrides)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

let nextIp = Math.floor(Math.random() * 200) * 65_536;
/** A loopback address no other test uses (the whole 127/8 is loopback on Linux). */
function freshIp(): string {
  do nextIp += 1;
  while ((nextIp & 255) === 0 || (nextIp & 255) === 255);
  return `127.${((nextIp >> 16) % 254) + 1}.${(nextIp >> 8) & 255}.${nextIp & 255}`;
}

interface Answer {
  status: number;
  retryAfter: number | undefined;
  body: { error?: string; access_token?: string };
}

/** POST JSON from a given local address, on a connection of its own. */
function postFrom(localAddress: string, baseUrl: string, path: string, payload: unknown): Promise<Answer> {
  const url = new URL(path, baseUrl);
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({ status: response.statusCode ?? 0, retryAfter: retryAfter === undefined ? undefined : Number(retryAfter), body: JSON.parse(text) as Answer['body'] });
        });
      },
    );
    request.once('error', reject);
    request.end(body);
  });
}

const login = (ip: string, baseUrl: string, user: Pick<TestUser, 'email'>, password: string) => postFrom(ip, baseUrl, '/api/auth/login/json', { email: user.email, password });
const countOf = (answers: Answer[], status: number) => answers.filter((answer) => answer.status === status).length;

function expectRateLimited(answer: Answer, maxRetryAfterS = WINDOW_S): void {
  expect(answer.status).toBe(429);
  expect(answer.body.error).toBe('rate_limited');
  expect(answer.body.access_token).toBeUndefined();
  expect(answer.retryAfter).toBeGreaterThan(0);
  expect(answer.retryAfter).toBeLessThanOrEqual(maxRetryAfterS);
}

describe('failed logins per (account, IP) and per account', () => {
  it('150 parallel guesses over two instances, the last one right: at most 10 password checks, no token; the owner from another IP logs in', async () => {
    const owner = await createUser(a, { prefix: 'guess' });
    const attacker = freshIp();
    const compares = () => a.passwordHasher.stats().compares + b.passwordHasher.stats().compares;
    const comparesBefore = compares();
    let answered = 0;
    let refused = 0;
    const guesses = Array.from({ length: 149 }, (_, i) =>
      login(attacker, i % 2 === 0 ? urlA : urlB, owner, `wrong-guess-${i}`).then((answer) => {
        answered += 1;
        if (answer.status === 429) refused += 1;
        return answer;
      }),
    );
    // The right one goes last: once the limit has been reached, while the others are still in flight.
    await waitUntil(() => expect(refused > 0 || answered === guesses.length).toBe(true), 10_000, 5);
    const right = await login(attacker, urlB, owner, owner.password);
    const wrong = await Promise.all(guesses);
    const passwordChecks = compares() - comparesBefore;
    console.log(`150 parallel guesses: ${passwordChecks} password checks, ${countOf(wrong, 401)} × 401, ${countOf(wrong, 429)} × 429; the right password: ${right.status}`);
    expect(passwordChecks).toBeLessThanOrEqual(MAX_FAILURES);
    expect(countOf(wrong, 401)).toBe(MAX_FAILURES);
    expect(countOf(wrong, 429)).toBe(149 - MAX_FAILURES);
    for (const answer of wrong.filter((w) => w.status === 429)) expectRateLimited(answer);
    expectRateLimited(right);

    // The attacker's IP stays locked out, on both instances; the owner elsewhere is not.
    expectRateLimited(await login(attacker, urlA, owner, owner.password));
    const fromHome = await login(freshIp(), urlA, owner, owner.password);
    expect(fromHome.status).toBe(200);
    expect(fromHome.body.access_token).toEqual(expect.any(String));
    expectRateLimited(await login(attacker, urlB, owner, owner.password));
  });

  it('a success clears the failures of that (account, IP)', async () => {
    const owner = await createUser(a, { prefix: 'reset' });
    const ip = freshIp();
    for (let i = 0; i < MAX_FAILURES - 1; i += 1) expect((await login(ip, i % 2 ? urlA : urlB, owner, `typo-${i}`)).status).toBe(401);
    expect((await login(ip, urlA, owner, owner.password)).status).toBe(200);
    const again = await Promise.all(Array.from({ length: MAX_FAILURES + 3 }, (_, i) => login(ip, i % 2 ? urlA : urlB, owner, `typo-again-${i}`)));
    expect(countOf(again, 401)).toBe(MAX_FAILURES);
    expect(countOf(again, 429)).toBe(3);
  });

  it('per account over all IPs: at most 10 × 10 failures in parallel from 11 IPs, then every IP is refused', async () => {
    const owner = await createUser(a, { prefix: 'spray' });
    const ips = Array.from({ length: 11 }, () => freshIp());
    const guesses = await Promise.all(ips.flatMap((ip, n) => Array.from({ length: MAX_FAILURES }, (_, i) => login(ip, (n + i) % 2 ? urlA : urlB, owner, `spray-${n}-${i}`))));
    expect(countOf(guesses, 401)).toBe(10 * MAX_FAILURES);
    expect(countOf(guesses, 429)).toBe(MAX_FAILURES);
    // Documented trade-off: an attacker with ten IPs locks the account for the rest of the window.
    expectRateLimited(await login(freshIp(), urlB, owner, owner.password));
  });

  it('successful logins do not count against the account (LOGIN_MAX_FAILURES=1: 10 per account)', async () => {
    const strict = await createTestApp({ LOGIN_MAX_FAILURES: '1' });
    try {
      const owner = await createUser(strict, { prefix: 'manyok' });
      const from = (ip: string, password: string) =>
        strict.inject({ method: 'POST', url: '/api/auth/login/json', remoteAddress: ip, payload: { email: owner.email, password } });
      for (let i = 0; i < 12; i += 1) expect((await from(freshIp(), owner.password)).statusCode).toBe(200);
      expect((await from(freshIp(), 'wrong-password')).statusCode).toBe(401);
    } finally {
      await strict.close();
    }
  });

  it('an unknown account is limited the same way (no hint that it does not exist)', async () => {
    const ip = freshIp();
    const ghost = { email: `${uniqueName('ghost')}@example.com` };
    const answers = await Promise.all(Array.from({ length: MAX_FAILURES + 2 }, (_, i) => login(ip, i % 2 ? urlA : urlB, ghost, `whatever-${i}`)));
    expect(countOf(answers, 401)).toBe(MAX_FAILURES);
    expect(countOf(answers, 429)).toBe(2);
  });
});

describe('register and login calls per IP (AUTH_RATE_PER_IP)', () => {
  it('the default 60 a minute holds under concurrency over two instances, then 429 with Retry-After', async () => {
    const [one, two] = await Promise.all([createTestApp(DEFAULTS), createTestApp(DEFAULTS)]);
    try {
      const ip = freshIp();
      const calls = await Promise.all(
        Array.from({ length: 80 }, (_, i) => {
          const app = i % 2 ? one : two;
          return i % 4 < 2
            ? app.inject({ method: 'POST', url: '/api/auth/login/json', remoteAddress: ip, payload: { email: `${uniqueName('n')}@example.com`, password: 'whatever-1' } })
            : app.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: ip, payload: { email: 'not-an-email', username: 'x', password: 'y' } });
        }),
      );
      const limited = calls.filter((res) => res.statusCode === 429);
      expect(calls.length - limited.length).toBe(60);
      for (const res of limited) {
        expect(res.json().error).toBe('rate_limited');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
      // Another IP is not affected.
      const other = await one.inject({ method: 'POST', url: '/api/auth/login/json', remoteAddress: freshIp(), payload: { email: 'n@example.com', password: 'whatever-1' } });
      expect(other.statusCode).toBe(401);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('an IPv6 client counts by its /64 (a fresh address per request does not help)', async () => {
    const limited = await createTestApp({ AUTH_RATE_PER_IP: '3' });
    try {
      const net = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
      const call = (remoteAddress: string) =>
        limited.inject({ method: 'POST', url: '/api/auth/login/json', remoteAddress, payload: { email: `${uniqueName('v6')}@example.com`, password: 'whatever-1' } });
      for (const host of ['::1', '::2', ':abcd::3']) expect((await call(`${net}${host}`)).statusCode).toBe(401);
      expect((await call(`${net}:ffff:ffff:ffff:ffff`)).statusCode).toBe(429);
      expect((await call(`${net.replace(/:7$/, ':8')}::1`)).statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it('is counted by @fastify/rate-limit in Redis (one key per address, a minute long), beside the API limit; logout and me are outside it', async () => {
    const limited = await createTestApp({ AUTH_RATE_PER_IP: '3', API_RATE_PER_IP: '1000' });
    try {
      const ip = freshIp();
      const register = () => limited.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: ip, payload: { email: 'bad' } });
      for (let i = 0; i < 3; i += 1) expect((await register()).statusCode).toBe(400);
      const refused = await register();
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toEqual({ error: 'rate_limited', message: expect.stringContaining('3 a minute') });
      expect(refused.headers['cache-control']).toBe('no-store');
      expect(Number(await limited.redis.get(`auth:ip:${ip}`))).toBe(4);
      const ttl = await limited.redis.pttl(`auth:ip:${ip}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // The same calls count against the anonymous API limit too.
      expect(Number(await limited.redis.get(`abuse:api:ip:${ip}`))).toBe(4);
      // Other auth routes are not register/login calls.
      for (let i = 0; i < 3; i += 1) {
        expect((await limited.inject({ url: '/api/auth/me', remoteAddress: ip })).statusCode).toBe(401);
        expect((await limited.inject({ method: 'POST', url: '/api/auth/logout', remoteAddress: ip })).statusCode).toBe(401);
      }
    } finally {
      await limited.close();
    }
  });

  it('ipLimitKey: IPv4 (also IPv4-mapped) as it is, IPv6 by /64', () => {
    expect(ipLimitKey('10.1.2.3')).toBe('10.1.2.3');
    expect(ipLimitKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(ipLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipLimitKey('2001:0DB8:0000:0000:ffff::1')).toBe('2001:db8:0:0::/64');
    expect(ipLimitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(ipLimitKey('64:ff9b::10.1.2.3')).toBe('64:ff9b:0:0::/64');
  });
});
