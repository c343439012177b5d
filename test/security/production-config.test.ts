import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { ConfigError, loadConfig, PUBLISHED_SECRETS, trustProxyOption } from '../../src/config.ts';
import { testConfig } from '../helpers/app.ts';

/**
 * Start-up checks and defaults of the security settings (the contract's Security section):
 * production refuses a weak or published JWT_SECRET, CORS_ORIGINS and TRUST_PROXY are validated,
 * DOCS_ENABLED follows NODE_ENV, and TRUST_PROXY decides whose X-Forwarded-For is believed.
 */

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'mysql://root@127.0.0.1:3306/app',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  JWT_SECRET: '3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** The value a pattern captures in a file of this repository. */
function publishedValue(file: string, pattern: RegExp): string {
  const value = pattern.exec(readFileSync(file, 'utf8'))?.[1];
  if (!value) throw new Error(`no example secret found in ${file}`);
  return value;
}

describe('JWT_SECRET in production', () => {
  it('is refused under 32 characters, naming JWT_SECRET (the issue: aaaaaaaaaaaaaaaa started)', () => {
    for (const secret of ['aaaaaaaaaaaaaaaa', 'x'.repeat(31), '0123456789abcdef0123456789abcde']) {
      const error = refusal({ ...production, JWT_SECRET: secret });
      expect(error.variable).toBe('JWT_SECRET');
      expect(error.message).toMatch(/JWT_SECRET .*32/);
    }
  });

  it('is refused when it is a published example: .env.example, docker-compose.yml (former default), the seeds, the development default', () => {
    const published = [
      publishedValue('.env.example', /^JWT_SECRET=(.+)$/m),
      'please-change-this-compose-secret', // docker-compose.yml's former default
      'your-super-secret-key-change-in-production', // ../seeds: SECRET_KEY= in the FastAPI source documents
      'development-only-secret-change-me',
    ];
    for (const secret of published) {
      expect(PUBLISHED_SECRETS).toContain(secret);
      for (const spelling of [secret, secret.toUpperCase(), ` ${secret} `]) {
        const env = { ...production, JWT_SECRET: spelling };
        if (spelling.trim().length < 32) continue;
        const error = refusal(env);
        expect(error.variable, spelling).toBe('JWT_SECRET');
      }
    }
  });

  it('is refused when long but repetitive; a random one of 32+ characters starts, and development keeps its 16', () => {
    expect(refusal({ ...production, JWT_SECRET: 'ab'.repeat(20) }).variable).toBe('JWT_SECRET');
    expect(loadConfig(production).JWT_SECRET).toBe(production.JWT_SECRET);
    expect(loadConfig({ ...production, NODE_ENV: 'development', JWT_SECRET: 'dev-secret-16-ch' }).JWT_SECRET).toBe('dev-secret-16-ch');
  });
});

describe('defaults and validation of the security settings', () => {
  it('defaults: no CORS list, trust no proxy, 30 s requests, 10000 connections, docs on in development and off in production, no health token', () => {
    const dev = loadConfig({ NODE_ENV: 'development' });
    const prod = loadConfig(production);
    for (const config of [dev, prod]) {
      expect(config.CORS_ORIGINS).toBeUndefined();
      expect(config.TRUST_PROXY).toBeUndefined();
      expect(trustProxyOption(config.TRUST_PROXY)).toBe(false);
      expect(config.REQUEST_TIMEOUT_MS).toBe(30_000);
      expect(config.MAX_CONNECTIONS).toBe(10_000);
      expect(config.HEALTH_TOKEN).toBeUndefined();
    }
    expect(dev.DOCS_ENABLED).toBe(true);
    expect(prod.DOCS_ENABLED).toBe(false);
    expect(loadConfig({ ...production, DOCS_ENABLED: 'true' }).DOCS_ENABLED).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', DOCS_ENABLED: '0' }).DOCS_ENABLED).toBe(false);
  });

  it.each([
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'https://chat.example.com/app'],
    ['CORS_ORIGINS', 'chat.example.com'],
    ['CORS_ORIGINS', 'https://chat.example.com, ftp://files.example.com'],
    ['TRUST_PROXY', 'everyone'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1, 999.1.1.1'],
    ['DOCS_ENABLED', 'yes'],
    ['HEALTH_TOKEN', 'short'],
    ['REQUEST_TIMEOUT_MS', '0'],
    ['MAX_CONNECTIONS', '-1'],
  ])('%s=%s stops start-up naming the variable', (variable, value) => {
    const error = refusal({ ...production, [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('accepts origin lists and proxy lists', () => {
    const config = loadConfig({ ...production, CORS_ORIGINS: 'https://chat.example.com, http://localhost:3000', TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1, 2001:db8::/32' });
    expect(config.CORS_ORIGINS).toBeDefined();
    expect(trustProxyOption(config.TRUST_PROXY)).toEqual(['loopback', '10.0.0.0/8', '::1', '2001:db8::/32']);
  });
});

describe('TRUST_PROXY', () => {
  async function seen(overrides: Record<string, string>, headers: Record<string, string>) {
    const app = await buildApp(testConfig(overrides), { logger: false });
    app.get('/api/test/client', async (request) => ({ ip: request.ip, protocol: request.protocol, host: request.host }));
    await app.ready();
    try {
      // app.inject comes from 127.0.0.1, as a proxy on the same host would.
      return (await app.inject({ url: '/api/test/client', headers })).json() as { ip: string; protocol: string; host: string };
    } finally {
      await app.close();
    }
  }
  const forwarded = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat.example.com', host: 'internal:8000' };

  it('by default believes no one: a client cannot pick its IP (or scheme, or host) by sending X-Forwarded-*', async () => {
    expect(await seen({}, forwarded)).toEqual({ ip: '127.0.0.1', protocol: 'http', host: 'internal:8000' });
  });

  it('believes the listed proxies only', async () => {
    expect(await seen({ TRUST_PROXY: '127.0.0.1' }, forwarded)).toEqual({ ip: '203.0.113.9', protocol: 'https', host: 'chat.example.com' });
    expect((await seen({ TRUST_PROXY: 'loopback' }, forwarded)).ip).toBe('203.0.113.9');
    expect((await seen({ TRUST_PROXY: '10.0.0.0/8' }, forwarded)).ip).toBe('127.0.0.1');
  });
});
