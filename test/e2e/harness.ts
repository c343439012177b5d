import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import mariadb from 'mariadb';
import { Redis } from 'ioredis';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';
import { freePort, ServerProcess, sleep } from '../helpers/faults.ts';
import { call, expectStatus, remoteLogin } from '../helpers/remote.ts';

/**
 * End-to-end tests: the real server as a child process (`tsx src/server.ts`, on its own database
 * and Redis db), the built web client it serves at /app/, and Debian's Chromium driven by
 * playwright-core. Screenshots of every step go to test-results/e2e/<test>/<NN-step>.png.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Generous: two cores are shared by the server, MariaDB, Redis, Chromium and other test runs. */
export const UI_TIMEOUT_MS = 20_000;
export const E2E_TEST_TIMEOUT_MS = 240_000;

const ROOT = path.resolve(import.meta.dirname, '../..');
const RESULTS = path.join(ROOT, 'test-results', 'e2e');

/**
 * `describe`, or a skipped one with a visible reason when Chromium is not installed. Where
 * Chromium must be there (`E2E_REQUIRED=1`, as `.ci/run` sets after installing it), its absence
 * fails the run instead of skipping.
 */
export function describeE2E(name: string, body: () => void): void {
  if (!hasChromium && process.env.E2E_REQUIRED === '1') {
    throw new Error(`[e2e] "${name}": E2E_REQUIRED=1 but there is no Chromium at ${CHROMIUM_PATH}`);
  }
  if (!hasChromium) {
    console.warn(`[e2e] SKIPPED "${name}": no Chromium at ${CHROMIUM_PATH} (apt-get install chromium fonts-noto-cjk, or set CHROMIUM_PATH)`);
    describe.skip(name, body);
    return;
  }
  describe(name, { timeout: E2E_TEST_TIMEOUT_MS }, body);
}

// ---------------------------------------------------------------------------------------------
// The web build

const BUILD_LOCK = path.join(ROOT, 'web', '.build.lock');

/**
 * Builds web/dist when missing or older than its sources (scripts/build-web.mjs decides). Test
 * files run in parallel processes, so one builds while the others wait on a lock directory.
 */
export async function ensureWebBuild(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      writeFileSync(path.join(BUILD_LOCK, 'pid'), String(process.pid));
      break;
    } catch {
      if (lockIsStale()) rmSync(BUILD_LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`web build lock ${BUILD_LOCK} held for too long`);
      else await sleep(200);
    }
  }
  try {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`web build failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

function lockIsStale(): boolean {
  try {
    const pid = Number(readFileSync(path.join(BUILD_LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // No pid file yet (the holder is between mkdir and write) unless the lock is old.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Date.now() - (statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 10_000;
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Gzip sizes (level 9) of the JS files a page loaded, as the first-load budget counts them. */
export function gzipSize(body: Buffer): number {
  return gzipSync(body, { level: 9 }).length;
}

// ---------------------------------------------------------------------------------------------
// The server

const MYSQL_BASE = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const REDIS_BASE = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis db index of its own (claimed with the keys test/global-setup.ts uses). */
async function claimRedisDb(owner: string): Promise<{ url: string; release: () => Promise<void> }> {
  const admin = new Redis(`${REDIS_BASE}/0`, { lazyConnect: true });
  await admin.connect();
  for (let index = 1; index < 16; index += 1) {
    if (await admin.set(`bigtech:test-run:db:${index}`, owner, 'EX', 3600, 'NX')) {
      const url = `${REDIS_BASE}/${index}`;
      const db = new Redis(url);
      await db.flushdb();
      return {
        url,
        release: async () => {
          await db.flushdb();
          db.disconnect();
          await admin.del(`bigtech:test-run:db:${index}`);
          admin.disconnect();
        },
      };
    }
  }
  admin.disconnect();
  throw new Error('no free Redis db index for an e2e server (all 15 claimed by other test runs)');
}

/**
 * The real server process on a fixed free port, with its own MariaDB database (the server
 * creates and migrates it) and its own Redis db. `restart()` stops it (SIGTERM, as a deploy
 * does; `{ crash: true }` kills it) and starts it again on the same port.
 */
export class E2EServer {
  private process: ServerProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly cleanUp: () => Promise<void>,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get appUrl(): string {
    return `${this.baseUrl}/app/`;
  }

  /** The server's recent output (for failure messages). */
  get output(): string {
    return this.process?.output ?? '';
  }

  static async start(overrides: Record<string, string> = {}): Promise<E2EServer> {
    const id = randomBytes(4).toString('hex');
    const database = `bigtech_e2e_${id}`;
    const redis = await claimRedisDb(`e2e-${id}`);
    const uploads = mkdtempSync(path.join(tmpdir(), 'bigtech-e2e-uploads-'));
    const port = await freePort();
    const env = {
      NODE_ENV: 'test',
      PORT: String(port),
      DATABASE_URL: `${MYSQL_BASE}/${database}`,
      REDIS_URL: redis.url,
      JWT_SECRET: 'e2e-secret-0123456789abcdef-0123456789',
      UPLOAD_DIR: uploads,
      // ServerProcess waits for the info line "Server listening at".
      LOG_LEVEL: 'info',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_PER_IP: '100000',
      LOGIN_MAX_FAILURES: '1000',
      API_RATE_PER_USER: '100000',
      API_RATE_PER_IP: '100000',
      ...overrides,
    };
    const server = new E2EServer(port, env, async () => {
      await redis.release();
      rmSync(uploads, { recursive: true, force: true });
      const { connection } = parseMysqlUrl(`${MYSQL_BASE}/${database}`);
      const conn = await mariadb.createConnection(connection);
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
    });
    await server.start();
    return server;
  }

  /** Stops the process and starts a new one on the same port. */
  async restart(options: { crash?: boolean } = {}): Promise<void> {
    await this.stop(options);
    await this.start();
  }

  /** Starts the process again after stop() (same port, database and Redis db). */
  async start(): Promise<void> {
    if (this.process?.running) throw new Error('the server is already running');
    await this.launch();
  }

  async stop(options: { crash?: boolean } = {}): Promise<void> {
    const current = this.process;
    this.process = undefined;
    if (!current?.running) return;
    if (options.crash) return current.kill();
    const exited = new Promise<void>((resolve) => current.child.once('exit', () => resolve()));
    current.child.kill('SIGTERM');
    const timer = setTimeout(() => current.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop({ crash: true });
    await this.cleanUp();
  }

  private async launch(): Promise<void> {
    // The first start creates and migrates the database: allow for a loaded machine.
    this.process = await ServerProcess.start(this.env, 90_000);
  }
}

// ---------------------------------------------------------------------------------------------
// The browser

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

const EXPECTED_CONSOLE_ERRORS = /^(Failed to load resource|WebSocket connection to .* failed)/;

/** What went wrong inside a page: uncaught errors and console errors, for the failure message. */
export interface PageLog {
  errors: string[];
}

/** A fresh context (its own cookies and storage: another user) with Korean locale. */
export async function openContext(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {},
): Promise<{ context: BrowserContext; page: Page; log: PageLog }> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    colorScheme: options.colorScheme ?? 'light',
    locale: 'ko-KR',
    timezoneId: 'Asia/Seoul',
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(60_000);
  const page = await context.newPage();
  const log: PageLog = { errors: [] };
  page.on('pageerror', (error) => log.errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs refused requests and sockets as errors: tests provoke 4xx answers and restarts on purpose.
    if (message.type() === 'error' && !EXPECTED_CONSOLE_ERRORS.test(message.text())) log.errors.push(`console: ${message.text()}`);
  });
  return { context, page, log };
}

/**
 * Numbered step screenshots of one test: test-results/e2e/<test>/<NN-step>.png. The folder is
 * emptied at the first step, so a run leaves only its own steps.
 */
export class Screenshots {
  private step = 0;
  readonly dir: string;

  constructor(test: string) {
    this.dir = path.join(RESULTS, slug(test));
  }

  async take(page: Page, name: string): Promise<string> {
    // Emptied at the first step, not when constructed: a skipped suite leaves the last run's.
    if (this.step === 0) {
      rmSync(this.dir, { recursive: true, force: true });
      mkdirSync(this.dir, { recursive: true });
    }
    this.step += 1;
    const file = path.join(this.dir, `${String(this.step).padStart(2, '0')}-${slug(name)}.png`);
    await page.screenshot({ path: file, fullPage: false, animations: 'disabled', timeout: 30_000 });
    return file;
  }
}

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
}

// ---------------------------------------------------------------------------------------------
// Users through the UI

let userCounter = 0;

export interface E2EUser {
  username: string;
  email: string;
  password: string;
  displayName: string;
}

/** A unique user (the username is ASCII by the contract; the display name is Korean). */
export function newUser(prefix: string, displayName: string): E2EUser {
  userCounter += 1;
  const username = `${prefix}_${randomBytes(3).toString('hex')}${userCounter}`;
  return { username, email: `${username}@example.com`, password: 'correct-horse-battery', displayName };
}

/** Registers and logs in over the API (for set-up that is not what a test is about). */
export async function registerViaApi(baseUrl: string, user: E2EUser): Promise<{ id: number; token: string }> {
  const registered = await expectStatus(
    201,
    'register',
    call<{ user: { id: number } }>(baseUrl, 'POST', '/api/auth/register', { body: { email: user.email, username: user.username, password: user.password, display_name: user.displayName } }),
  );
  const login = await remoteLogin(baseUrl, { id: registered.body.user.id, email: user.email, username: user.username, password: user.password });
  return { id: login.id, token: login.token };
}

/** Opens /app/ and registers through the register form; resolves once the shell is shown. */
export async function registerThroughUi(page: Page, appUrl: string, user: E2EUser): Promise<void> {
  await page.goto(appUrl);
  await page.getByRole('button', { name: '회원가입' }).click();
  const form = page.getByRole('form', { name: '회원가입' });
  await form.getByLabel('아이디').fill(user.username);
  await form.getByLabel('이메일').fill(user.email);
  await form.getByLabel('비밀번호').fill(user.password);
  await form.getByLabel('표시 이름').fill(user.displayName);
  await form.getByRole('button', { name: '가입하기' }).click();
  await page.getByRole('button', { name: '로그아웃' }).waitFor();
}

/** Logs in through the login form; resolves once the shell is shown. */
export async function loginThroughUi(page: Page, appUrl: string, user: E2EUser): Promise<void> {
  await page.goto(appUrl);
  const form = page.getByRole('form', { name: '로그인' });
  await form.getByLabel('이메일').fill(user.email);
  await form.getByLabel('비밀번호').fill(user.password);
  await form.getByRole('button', { name: '로그인' }).click();
  await page.getByRole('button', { name: '로그아웃' }).waitFor();
}

// ---------------------------------------------------------------------------------------------
// Accessibility

const CONTROL_ROLES = 'button|link|textbox|searchbox|checkbox|radio|combobox|listbox|slider|spinbutton|switch|tab|menuitem|option';
/** A control line of an ARIA snapshot with no name: `- button`, `- button [pressed]:`, ... */
const UNNAMED_CONTROL = new RegExp(`^\\s*- (${CONTROL_ROLES})(?: \\[[^\\]]*\\])*:?$`);

/** The controls on the page that have no accessible name (from Playwright's ARIA snapshot). */
export async function unnamedControls(page: Page): Promise<string[]> {
  const snapshot = await page.locator('body').ariaSnapshot({ timeout: 30_000 });
  return snapshot.split('\n').filter((line) => UNNAMED_CONTROL.test(line)).map((line) => line.trim());
}

// ---------------------------------------------------------------------------------------------
// First-load measurements

export interface FirstLoad {
  /** Sum of the gzip sizes of every JS file the page loaded until the login form was usable. */
  gzippedJsBytes: number;
  jsFiles: { url: string; bytes: number; gzipped: number }[];
  /** Navigation start → login form usable (the email field visible and enabled), ms. */
  interactiveMs: number;
}

/** Loads /app/ in a fresh context (empty cache) and measures what the first screen costs. */
export async function measureFirstLoad(browser: Browser, appUrl: string): Promise<FirstLoad> {
  const { context, page } = await openContext(browser);
  try {
    const scripts: Promise<{ url: string; bytes: number; gzipped: number }>[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() !== 'script') return;
      scripts.push(response.body().then((body) => ({ url: response.url(), bytes: body.length, gzipped: gzipSize(body) })));
    });
    await page.goto(appUrl);
    const email = page.getByRole('form', { name: '로그인' }).getByLabel('이메일');
    await email.waitFor({ state: 'visible' });
    const interactiveMs = await page.evaluate(() => {
      const mark = performance.getEntriesByName('login-form-ready')[0];
      return mark ? mark.startTime : performance.now();
    });
    if (!(await email.isEditable())) throw new Error('the login form is shown but not usable');
    const jsFiles = await Promise.all(scripts);
    return { gzippedJsBytes: jsFiles.reduce((sum, file) => sum + file.gzipped, 0), jsFiles, interactiveMs };
  } finally {
    await context.close();
  }
}

export function formatKb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}
