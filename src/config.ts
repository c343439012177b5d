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
  CORS_ORIGINS: z.string().default('*'),
  BODY_LIMIT_BYTES: positiveInt(1_048_576),
  BCRYPT_ROUNDS: z.coerce.number().int().min(4).max(15).default(10),
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
