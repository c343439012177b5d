import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ConcurrencyLimit, QueueFullError } from '../../lib/concurrency-limit.ts';
import { AppError } from '../../lib/errors.ts';

export interface PasswordHasherSettings {
  rounds: number;
  /** Hashes and compares running at once, each on a thread of its own (the others queue). */
  concurrency: number;
  /** Waiting beyond this many is refused with 503 rather than queued for seconds. */
  maxQueued: number;
}

export interface PasswordHasherStats {
  hashes: number;
  compares: number;
  running: number;
  queued: number;
  /** The most that ever ran at once. */
  peakRunning: number;
}

/**
 * How much lower than the event loop the hashing threads are scheduled (Linux niceness, 0-19).
 * At 10 the kernel gives a runnable event loop about nine tenths of a contended core, and
 * bcrypt still gets whatever is idle.
 */
const HASH_THREAD_NICENESS = 10;

/**
 * The worker's code, plain CommonJS (evaluated, so it needs no TypeScript loader): bcrypt's
 * synchronous calls on this thread, which first lowers its own priority. `/proc/thread-self`
 * names the thread on Linux; elsewhere the priority stays as it is.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) require('node:os').setPriority(tid, workerData.niceness);
} catch {}
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.rounds) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ result });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
});
`;

const bcryptPath = createRequire(import.meta.url).resolve('bcrypt');

type Job = { op: 'hash'; password: string; rounds: number } | { op: 'compare'; password: string; hash: string };
type Reply = { result: string | boolean } | { error: string };

/** One hashing thread, started on first use and again after it died; one job at a time. */
class HashThread {
  private worker: Worker | undefined;
  private pending: { resolve: (result: string | boolean) => void; reject: (error: Error) => void } | undefined;

  get idle(): boolean {
    return this.pending === undefined;
  }

  run(job: Job): Promise<string | boolean> {
    const worker = this.worker ?? this.start();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath, niceness: HASH_THREAD_NICENESS } });
    worker.unref(); // an idle hashing thread never keeps the process alive
    worker.on('message', (reply: Reply) => {
      const pending = this.pending;
      this.pending = undefined;
      if ('error' in reply) pending?.reject(new Error(`bcrypt failed: ${reply.error}`));
      else pending?.resolve(reply.result);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.fail(new Error(`password hashing thread exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/**
 * bcrypt off the event loop with bounded concurrency, on threads the kernel schedules below it.
 *
 * bcrypt's own async API runs in libuv's thread pool (4 threads by default) at the event loop's
 * priority: a burst of logins then takes every core of a 2-core machine and every other request
 * waits for a CPU (p95 ~240 ms in bench/bcrypt.ts). Here at most `concurrency` (default one
 * less than the cores) hash at once, the rest queue, and the hashing threads run niced, so the
 * event loop keeps its core even when MariaDB, Redis or a neighbour want one too.
 */
export class PasswordHasher {
  private readonly limit: ConcurrencyLimit;
  private readonly threads: HashThread[];
  private readonly counts = { hashes: 0, compares: 0, peakRunning: 0 };

  constructor(private readonly settings: PasswordHasherSettings) {
    this.limit = new ConcurrencyLimit(settings.concurrency, settings.maxQueued);
    this.threads = Array.from({ length: settings.concurrency }, () => new HashThread());
  }

  async hash(password: string): Promise<string> {
    const result = await this.run({ op: 'hash', password, rounds: this.settings.rounds });
    if (typeof result !== 'string') throw new Error('bcrypt returned no hash');
    this.counts.hashes += 1;
    return result;
  }

  async compare(password: string, hash: string): Promise<boolean> {
    const result = await this.run({ op: 'compare', password, hash });
    this.counts.compares += 1;
    return result === true;
  }

  stats(): PasswordHasherStats {
    return { ...this.counts, running: this.limit.active, queued: this.limit.queued };
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  private async run(job: Job): Promise<string | boolean> {
    try {
      return await this.limit.run(() => {
        this.counts.peakRunning = Math.max(this.counts.peakRunning, this.limit.active);
        // The limit lets no more jobs in than there are threads, so one is idle.
        const thread = this.threads.find((candidate) => candidate.idle);
        if (!thread) throw new Error('no idle password hashing thread');
        return thread.run(job);
      });
    } catch (error) {
      if (error instanceof QueueFullError) {
        throw new AppError('service_unavailable', 'Too many logins at once, try again shortly', undefined, { 'retry-after': '1' });
      }
      throw error;
    }
  }
}
