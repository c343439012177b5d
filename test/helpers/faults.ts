import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Fault injection for the fault tests. The shared Redis (6379) and MariaDB (3306) are never
 * touched: outages happen on a private redis-server child process and on a TCP proxy in front
 * of MariaDB, both owned by one test file.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A TCP port that was free a moment ago (bind 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (!address || typeof address === 'string') {
        server.close();
        reject(new Error('no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Polls `check` until it returns without throwing; rethrows its last error after timeoutMs. */
export async function waitUntil<T>(check: () => Promise<T> | T, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}

/** Runs `task`, failing if it has not settled within `ms` (a hang is a failure, not a wait). */
export async function within<T>(ms: number, what: string, task: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([task, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A private `redis-server` on its own port, with default configuration (no persistence, so a
 * restart comes back empty, as a crashed cache node would). kill() is a SIGKILL; start() again
 * brings a fresh server up on the same port.
 */
export class RedisServerProcess {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'bigtech-fault-redis-'));
  output = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await freePort());
    await server.start();
    return server;
  }

  /** `redis://127.0.0.1:<port>/<db>` */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 5000): Promise<void> {
    if (this.running) return;
    const deadline = Date.now() + timeoutMs;
    // Right after a kill the port can take a moment to be free again: retry for a while.
    for (;;) {
      try {
        await this.spawnOnce(Math.max(500, deadline - Date.now()));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  }

  private spawnOnce(timeoutMs: number): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    return new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`redis-server did not start on ${this.port}:\n${output}`));
      }, timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        this.output += chunk.toString();
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code ?? signal}):\n${output}`));
      });
    });
  }

  /** SIGKILL: no shutdown, connections drop at once. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type ProxyMode = 'forward' | 'refuse' | 'blackhole';

/**
 * A TCP proxy in front of a server (MariaDB here). `cut()` drops every open connection and
 * then refuses new ones (reset at once) or, in `blackhole` mode, accepts them and never
 * answers, like a host gone from the network. `resume()` forwards again.
 */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private mode: ProxyMode = 'forward';
  /** Connections accepted over the proxy's lifetime (to see that clients reconnected). */
  accepted = 0;
  /** Delay added to every reply from the server (requests still arrive at once). Never lower it while connections are open: replies could overtake each other. */
  replyDelayMs = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {
    this.server = net.createServer((client) => this.onConnection(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, await freePort());
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(proxy.port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /** Drops every connection, then treats new ones according to `mode`. */
  cut(mode: Exclude<ProxyMode, 'forward'> = 'refuse'): void {
    this.mode = mode;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  resume(): void {
    // Blackholed connections were never answered: drop them so their clients retry.
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    this.mode = 'forward';
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  private onConnection(client: net.Socket): void {
    this.accepted += 1;
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    this.track(client);
    if (this.mode === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', drop);
    upstream.once('close', drop);
    client.pipe(upstream);
    // Equal delays fire in order, so replies keep their order.
    upstream.on('data', (chunk: Buffer) => {
      if (this.replyDelayMs <= 0) client.write(chunk);
      else setTimeout(() => client.writable && client.write(chunk), this.replyDelayMs);
    });
  }
}

/** The real entry point (`node --import tsx src/server.ts`) as a child process. */
/** The end of `text`, at most `max` characters, starting at a line (so every line in it is whole). */
function lastLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const tail = text.slice(-max);
  return tail.slice(tail.indexOf('\n') + 1);
}

export class ServerProcess {
  output = '';

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    /** Its `/metrics` listener (METRICS_PORT=0 unless `env` says otherwise); unset when disabled. */
    readonly metricsPort: number | undefined,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static start(env: Record<string, string>, timeoutMs = 20_000): Promise<ServerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let output = '';
      let server: ServerProcess | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      // Keep reading for the child's whole life: a full pipe would block its logging.
      const onData = (chunk: Buffer) => {
        output = lastLines(output + chunk.toString(), 20_000);
        if (server) {
          server.output = output;
          return;
        }
        const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          // The metrics listener starts first, so its line is already there.
          const metrics = /metrics listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
          server = new ServerProcess(child, Number(match[1]), metrics ? Number(metrics[1]) : undefined);
          resolve(server);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!server) reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: no shutdown hooks, sockets are cut as in a crash. Resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}
