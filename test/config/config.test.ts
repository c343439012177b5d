import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDurationSeconds } from '../../src/config.ts';

const valid = {
  NODE_ENV: 'production',
  DATABASE_URL: 'mysql://root@127.0.0.1:3306/app',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  JWT_SECRET: 'a-production-secret-of-32-chars-or-more',
};

function errorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      PORT: 8000,
      PRESENCE_TTL_S: 300,
      ROOM_IDLE_TIMEOUT_S: 1800,
      LOGIN_MAX_FAILURES: 10,
      AUTH_RATE_PER_IP: 60,
      JWT_EXPIRES_IN: 3600,
      UPLOAD_DIR: './uploads',
    });
    expect(config.MONGODB_URL).toBeUndefined();
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: undefined }, /DATABASE_URL is required/],
    ['REDIS_URL', { REDIS_URL: undefined }, /REDIS_URL is required/],
    ['JWT_SECRET', { JWT_SECRET: undefined }, /JWT_SECRET is required/],
    ['JWT_SECRET', { JWT_SECRET: 'short' }, /JWT_SECRET is invalid/],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://x@y/z' }, /DATABASE_URL is invalid/],
    ['PORT', { PORT: 'eighty' }, /PORT is invalid/],
    ['PORT', { PORT: '70000' }, /PORT is invalid/],
    ['PRESENCE_TTL_S', { PRESENCE_TTL_S: '-5' }, /PRESENCE_TTL_S is invalid/],
    ['JWT_EXPIRES_IN', { JWT_EXPIRES_IN: 'forever' }, /JWT_EXPIRES_IN is invalid/],
    ['MONGODB_URL', { MONGODB_URL: 'http://mongo' }, /MONGODB_URL is invalid/],
    ['NODE_ENV', { NODE_ENV: 'staging' }, /NODE_ENV is invalid/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL is invalid/],
  ])('names %s when it is bad or missing', (variable, change, message) => {
    const env = Object.fromEntries(Object.entries({ ...valid, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const error = errorFor(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(message);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('uses local development defaults outside production only', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config.DATABASE_URL).toMatch(/^mysql:\/\/root@127\.0\.0\.1:3306\//);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
  });

  it('treats an empty MONGODB_URL as unset', () => {
    expect(loadConfig({ ...valid, MONGODB_URL: '' }).MONGODB_URL).toBeUndefined();
  });

  it('serves metrics on METRICS_PORT 9464 by default; 0 picks a free port; false turns them off', () => {
    expect(loadConfig(valid)).toMatchObject({ METRICS_ENABLED: true, METRICS_PORT: 9464 });
    expect(loadConfig({ ...valid, METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
    expect(loadConfig({ ...valid, METRICS_ENABLED: 'false' }).METRICS_ENABLED).toBe(false);
  });

  it.each([
    [{ METRICS_PORT: 'metrics' }, /METRICS_PORT is invalid/],
    [{ METRICS_PORT: '70000' }, /METRICS_PORT is invalid/],
    [{ METRICS_PORT: '8000' }, /METRICS_PORT is invalid: it must differ from PORT/],
    [{ METRICS_ENABLED: 'yes' }, /METRICS_ENABLED is invalid/],
  ])('refuses %o', (change, message) => {
    expect(errorFor({ ...valid, ...change }).message).toMatch(message);
  });

  it('allows METRICS_PORT equal to PORT when metrics are off or both are 0', () => {
    expect(loadConfig({ ...valid, METRICS_PORT: '8000', METRICS_ENABLED: 'false' }).METRICS_PORT).toBe(8000);
    expect(loadConfig({ ...valid, PORT: '0', METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
  });
});

describe('parseDurationSeconds', () => {
  it.each([
    ['900', 900],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
    ['0', undefined],
    ['1w', undefined],
    ['', undefined],
  ])('%s → %s', (input, expected) => {
    expect(parseDurationSeconds(input)).toBe(expected);
  });
});
