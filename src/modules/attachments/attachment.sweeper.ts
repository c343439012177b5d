import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { AttachmentCleanup, SweepResult } from './attachment.cleanup.ts';

export const SWEEP_LOCK_KEY = 'attachments:sweep:lock';
/** How often each instance tries to sweep; only the one holding the lock does. */
export const SWEEP_EVERY_MS = 10 * 60_000;
/** The lock expires by itself, so an instance that dies while sweeping does not stop the others for long. */
const LOCK_TTL_MS = 5 * 60_000;

/** Deletes the key only while it still holds our token (never a lock another instance took after ours expired). */
const RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** The periodic sweep of attachments, run by one instance at a time (a Redis lock with an expiry). */
export class AttachmentSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly cleanup: AttachmentCleanup,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** One sweep, or null when another instance holds the lock. */
  async runOnce(now = new Date()): Promise<SweepResult | null> {
    const token = randomUUID();
    const locked = await this.redis.set(SWEEP_LOCK_KEY, token, 'PX', LOCK_TTL_MS, 'NX');
    if (locked !== 'OK') return null;
    try {
      return await this.cleanup.sweep(now);
    } finally {
      await this.redis.eval(RELEASE_SCRIPT, 1, SWEEP_LOCK_KEY, token).catch((error: unknown) => {
        this.log.warn({ err: error }, 'could not release the attachment sweep lock; it expires by itself');
      });
    }
  }

  start(everyMs = SWEEP_EVERY_MS): void {
    this.timer = setInterval(() => {
      this.runOnce()
        .then((result) => {
          if (result && result.unsent + result.finished > 0) this.log.info(result, 'attachments swept');
        })
        .catch((error: unknown) => this.log.warn({ err: error }, 'attachment sweep failed; the next one retries'));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
