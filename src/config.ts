import { z } from 'zod';

const DURATION_UNITS_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Accepts "3600", "15m", "1h", "7d" and returns seconds. */
export function parseDurationSeconds(value: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = DURATION_UNITS_S[match[2] || 's'] ?? 1;
  const seconds = amount * unit;
  return seconds > 0 ? seconds : undefined;
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** "true"/"false"/"1"/"0"; unset keeps `fallback` (which may depend on NODE_ENV, see loadConfig). */
const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const mysqlUrl = z
  .string()
  .url()
  .refine((url) => /^(mysql|mariadb):\/\//.test(url), 'must start with mysql:// or mariadb://');

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: mysqlUrl,
  REDIS_URL: z
    .string()
    .url()
    .refine((url) => /^rediss?:\/\//.test(url), 'must start with redis:// or rediss://'),
  MONGODB_URL: z
    .string()
    .refine((url) => /^mongodb(\+srv)?:\/\//.test(url), 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  JWT_SECRET: z.string().min(16, 'must be at least 16 characters'),
  JWT_EXPIRES_IN: z
    .string()
    .default('1h')
    .transform((value, ctx) => {
      const seconds = parseDurationSeconds(value);
      if (seconds === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be seconds or a duration like 15m, 1h, 7d' });
        return z.NEVER;
      }
      return seconds;
    }),
  UPLOAD_DIR: z.string().min(1).default('./uploads'),
  ROOM_IDLE_TIMEOUT_S: positiveInt(1800),
  PRESENCE_TTL_S: positiveInt(300),
  LOGIN_MAX_FAILURES: positiveInt(10),
  AUTH_RATE_PER_IP: positiveInt(60),
  /**
   * Comma-separated browser origins allowed to call with credentials. Unset: any
   * http://localhost:<port> and http://127.0.0.1:<port> outside production, none in production.
   */
  CORS_ORIGINS: z.string().optional(),
  BODY_LIMIT_BYTES: positiveInt(1_048_576),
  BCRYPT_ROUNDS: z.coerce.number().int().min(4).max(15).default(10),
  /** How many bcrypt hashes run at once per process (default: one less than the cores, at least 1). */
  BCRYPT_CONCURRENCY: z.coerce.number().int().positive().optional(),

  // Security (see the contract's Security section).
  /** Comma-separated proxies (IPs, CIDRs or loopback/linklocal/uniquelocal) whose X-Forwarded-For is believed; unset trusts none. */
  TRUST_PROXY: z.string().optional(),
  REQUEST_TIMEOUT_MS: positiveInt(30_000),
  MAX_CONNECTIONS: positiveInt(10_000),
  /** Serve Swagger UI at /docs (default: true outside production, false in production). */
  DOCS_ENABLED: booleanFlag.optional(),
  /** Token for GET /api/health/redis (`Authorization: Bearer <token>`), required in production. */
  HEALTH_TOKEN: z.string().min(16).optional(),

  // Abuse limits per user, shared by all instances through Redis.
  API_RATE_PER_USER: positiveInt(600),
  API_RATE_PER_IP: positiveInt(1200),
  MESSAGE_RATE_PER_USER: positiveInt(20),
  MESSAGE_BURST_PER_USER: positiveInt(40),
  ROOM_CREATE_PER_HOUR: positiveInt(30),
  MAX_SOCKETS_PER_USER: positiveInt(20),
  MAX_STREAMS_PER_USER: positiveInt(10),
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`Invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Empty strings count as unset, so `MONGODB_URL=` in a .env file means "not configured". */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

/**
 * Outside production the local services of a developer machine are assumed, so that
 * `npm start` works with no set-up. Production must name every required value.
 */
const DEVELOPMENT_DEFAULTS: Record<string, string> = {
  DATABASE_URL: 'mysql://root@127.0.0.1:3306/bigtech_chat',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  JWT_SECRET: 'development-only-secret-change-me',
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const given = withoutEmptyValues(env);
  const values = given.NODE_ENV === 'production' ? given : { ...DEVELOPMENT_DEFAULTS, ...given };
  const parsed = configSchema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  const reason = issue?.code === 'invalid_type' && values[variable] === undefined ? 'is required' : `is invalid: ${issue?.message}`;
  throw new ConfigError(variable, reason);
}
