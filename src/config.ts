import { isIP } from 'node:net';
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
  // Attachments (src/modules/attachments): size limit, signed URL lifetime, and the S3-compatible
  // store used instead of UPLOAD_DIR when S3_BUCKET is set.
  ATTACHMENT_MAX_BYTES: positiveInt(20 * 1024 * 1024),
  ATTACHMENT_URL_TTL_S: positiveInt(3600),
  S3_ENDPOINT: z.string().url().refine((url) => /^https?:\/\//.test(url), 'must start with http:// or https://').optional(),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  ROOM_IDLE_TIMEOUT_S: positiveInt(1800),
  PRESENCE_TTL_S: positiveInt(300),
  /** Recent events kept per room in Redis for recovery (`join` with `since`, SSE Last-Event-ID). */
  EVENT_HISTORY_SIZE: z.coerce.number().int().min(1).max(100_000).default(500),
  EVENT_HISTORY_TTL_S: positiveInt(600),
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
  /** Serve Swagger UI at /docs (default: true outside production, false in production; filled in by loadConfig). */
  DOCS_ENABLED: booleanFlag,
  /** Token for GET /api/health/redis (`Authorization: Bearer <token>`); in production without it that route answers 404. */
  HEALTH_TOKEN: z.string().min(16).optional(),

  // Abuse limits per user, shared by all instances through Redis.
  API_RATE_PER_USER: positiveInt(600),
  API_RATE_PER_IP: positiveInt(1200),
  MESSAGE_RATE_PER_USER: positiveInt(20),
  MESSAGE_BURST_PER_USER: positiveInt(40),
  ROOM_CREATE_PER_HOUR: positiveInt(30),
  MAX_SOCKETS_PER_USER: positiveInt(20),
  MAX_STREAMS_PER_USER: positiveInt(10),
  /** Requests of one signed-in user handled at once per instance; more wait their turn (abuse-limits.ts). */
  API_CONCURRENCY_PER_USER: positiveInt(4),

  // Operations: Prometheus metrics on their own listener, never on the public port.
  METRICS_ENABLED: booleanFlag.default(true),
  /** Port of the `/metrics` listener (bound to HOST); 0 picks a free one (tests). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
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

/**
 * JWT secrets printed in this project's documents (`.env.example`, docker-compose.yml's former
 * default, the FastAPI source documents under ../seeds) and the development default: anyone can
 * read them, so production refuses them whatever their length (compared ignoring case and
 * surrounding spaces). Shorter published values are refused by the length floor anyway.
 */
export const PUBLISHED_SECRETS: readonly string[] = [
  DEVELOPMENT_DEFAULTS.JWT_SECRET ?? '',
  'change-me-to-a-long-random-secret',
  'please-change-this-compose-secret',
  'your-super-secret-key-change-in-production',
];

/** Production's floor for JWT_SECRET: HS256 keys shorter than this are guessable offline. */
export const MIN_PRODUCTION_SECRET_LENGTH = 32;
/** A secret of one or two repeated characters ("aaaa...") is long but not secret. */
const MIN_DISTINCT_SECRET_CHARS = 8;

const TRUST_PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** A comma-separated list: entries trimmed, empty ones dropped. */
export function parseList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}

/** An IPv4/IPv6 address, optionally with a /prefix (what proxy-addr, behind Fastify's trustProxy, accepts). */
function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const version = isIP(address);
  if (version === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY` as Fastify's `trustProxy` option: the listed proxies (addresses, CIDR ranges or
 * proxy-addr's `loopback`/`linklocal`/`uniquelocal`), or `false` (trust none) when unset.
 */
export function trustProxyOption(value: string | undefined): string[] | false {
  const entries = parseList(value);
  return entries.length > 0 ? entries : false;
}

/**
 * `CORS_ORIGINS` as normalised origins (`scheme://host[:port]`, lower case, default port
 * dropped), or undefined when unset. Throws on an entry that is not an origin.
 */
export function parseOrigins(value: string | undefined): string[] | undefined {
  const entries = parseList(value);
  if (entries.length === 0) return undefined;
  return entries.map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `is invalid: "${entry}" is not an origin like https://chat.example.com`);
    }
    const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password && !entry.endsWith('/');
    if (!/^https?:$/.test(url.protocol) || !bare) {
      throw new ConfigError('CORS_ORIGINS', `is invalid: "${entry}" must be scheme://host[:port] with no path (and * is not allowed)`);
    }
    return url.origin;
  });
}

/** `/metrics` must never be served on the public port. */
function checkPorts(config: Config): void {
  if (config.METRICS_ENABLED && config.METRICS_PORT !== 0 && config.METRICS_PORT === config.PORT) {
    throw new ConfigError('METRICS_PORT', `is invalid: it must differ from PORT (${config.PORT}), metrics are not served on the public port`);
  }
}

function checkSecurity(config: Config): void {
  for (const entry of parseList(config.TRUST_PROXY)) {
    if (!TRUST_PROXY_KEYWORDS.has(entry) && !isAddressOrRange(entry)) {
      throw new ConfigError('TRUST_PROXY', `is invalid: "${entry}" is not an IP address, a CIDR range or loopback/linklocal/uniquelocal`);
    }
  }
  parseOrigins(config.CORS_ORIGINS);
  if (config.NODE_ENV !== 'production') return;
  const secret = config.JWT_SECRET;
  if (secret.length < MIN_PRODUCTION_SECRET_LENGTH) {
    throw new ConfigError('JWT_SECRET', `is too short for production: use at least ${MIN_PRODUCTION_SECRET_LENGTH} random characters (openssl rand -hex 32)`);
  }
  const normalised = secret.trim().toLowerCase();
  if (PUBLISHED_SECRETS.some((published) => published.toLowerCase() === normalised)) {
    throw new ConfigError('JWT_SECRET', 'is a published example value: generate your own (openssl rand -hex 32)');
  }
  if (new Set(secret).size < MIN_DISTINCT_SECRET_CHARS) {
    throw new ConfigError('JWT_SECRET', 'is too repetitive to be secret: generate a random one (openssl rand -hex 32)');
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const given = withoutEmptyValues(env);
  const production = given.NODE_ENV === 'production';
  const values: Record<string, string> = {
    DOCS_ENABLED: production ? 'false' : 'true',
    ...(production ? given : { ...DEVELOPMENT_DEFAULTS, ...given }),
  };
  const parsed = configSchema.safeParse(values);
  if (parsed.success) {
    checkPorts(parsed.data);
    checkSecurity(parsed.data);
    return parsed.data;
  }
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  const reason = issue?.code === 'invalid_type' && values[variable] === undefined ? 'is required' : `is invalid: ${issue?.message}`;
  throw new ConfigError(variable, reason);
}
