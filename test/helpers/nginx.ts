import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from './faults.ts';

/**
 * The real nginx (Debian's package) in front of app instances, configured from the same
 * template docker-compose.yml uses (deploy/nginx/templates/chat.conf.template): only the
 * listen address and the upstream servers differ. The test's own main configuration puts the
 * pid file, logs and temporary files in a private directory, so no root-owned path is needed.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHAT_TEMPLATE = path.join(repoRoot, 'deploy', 'nginx', 'templates', 'chat.conf.template');

/** The nginx binary on PATH or in the usual sbin directories (not on a non-root PATH). */
export function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Fills `${NAME}` placeholders as the nginx image's envsubst does with these variables set.
 * Any placeholder left over is an error (the template and its renderers disagree).
 */
export function renderTemplate(template: string, variables: Record<string, string>): string {
  let rendered = template;
  for (const [name, value] of Object.entries(variables)) rendered = rendered.split(`\${${name}}`).join(value);
  const leftover = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(rendered);
  if (leftover) throw new Error(`unfilled placeholder ${leftover[0]} in ${CHAT_TEMPLATE}`);
  return rendered;
}

/** The loopback rendering of the Compose template: nginx on `listenPort`, the app on `upstreamPorts`. */
export function renderChatConf(listenPort: number, upstreamPorts: number[]): string {
  return renderTemplate(readFileSync(CHAT_TEMPLATE, 'utf8'), {
    CHAT_LISTEN: `127.0.0.1:${listenPort}`,
    // One line, as a Compose environment value would be.
    CHAT_UPSTREAM_SERVERS: upstreamPorts.map((port) => `server 127.0.0.1:${port};`).join(' '),
  });
}

/** What the test runs instead of deploy/nginx/nginx.conf: the same http content, private paths. */
function mainConf(dir: string): string {
  return `# Written by test/helpers/nginx.ts; pid and daemon come from -g.
worker_processes 1;
events {
    worker_connections 1024;
}
http {
    default_type application/octet-stream;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/chat.conf;
    access_log ${dir}/access.log chat;
}
`;
}

/** Pids whose parent is `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

export class NginxProcess {
  private exited = false;
  output = '';

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
  ) {
    child.once('exit', () => {
      this.exited = true;
    });
    const onData = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** nginx's error log (startup problems, upstream errors). */
  errorLog(): string {
    const file = path.join(this.dir, 'error.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** The access log in the `chat` format of the template (WebSocket lines appear on close). */
  accessLog(): string {
    const file = path.join(this.dir, 'access.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /**
   * Starts nginx (not as a daemon: a child of the test) in front of `upstreamPorts`, waits
   * until it answers through to the app, and returns it. A port taken between freePort()
   * and nginx's bind is retried with another one.
   */
  static async start(binary: string, upstreamPorts: number[], timeoutMs = 10_000): Promise<NginxProcess> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const dir = mkdtempSync(path.join(tmpdir(), 'bigtech-nginx-'));
      // When the test runs as root, nginx's workers run as an unprivileged user: they must be
      // able to reach the temporary directories nginx creates (and chowns) in here.
      chmodSync(dir, 0o755);
      const port = await freePort();
      writeFileSync(path.join(dir, 'chat.conf'), renderChatConf(port, upstreamPorts));
      writeFileSync(path.join(dir, 'nginx.conf'), mainConf(dir));
      const args = ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')];
      const check = spawnSync(binary, [...args, '-t', '-q', '-g', `daemon off; pid ${dir}/nginx.pid;`], { encoding: 'utf8' });
      if (check.status !== 0) {
        const log = existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`nginx -t refused the rendered configuration (${dir}):\n${check.stderr}${check.stdout}${log}`);
      }
      const child = spawn(binary, [...args, '-g', `daemon off; pid ${dir}/nginx.pid;`], { stdio: ['ignore', 'pipe', 'pipe'] });
      const nginx = new NginxProcess(child, dir, port);
      try {
        await nginx.waitReady(timeoutMs);
        return nginx;
      } catch (error) {
        lastError = error;
        await nginx.stop({ keepDir: true });
        if (!/Address already in use/.test(nginx.errorLog())) throw error;
        rmSync(dir, { recursive: true, force: true });
      }
    }
    throw lastError;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`nginx exited during start-up:\n${this.output}${this.errorLog()}`);
      try {
        const res = await fetch(`${this.baseUrl}/api/health/live`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`nginx did not answer on ${this.port} within ${timeoutMs} ms:\n${this.output}${this.errorLog()}`);
      await sleep(50);
    }
  }

  /**
   * Fast shutdown (SIGTERM: the master stops its workers). If it lingers, SIGKILL to the
   * master and to its own workers by pid (a killed master leaves its workers running).
   */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    if (this.running) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
      if (!gone && this.child.pid !== undefined) {
        const workers = childPids(this.child.pid);
        this.child.kill('SIGKILL');
        await exited;
        for (const pid of workers) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
    if (!options.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
