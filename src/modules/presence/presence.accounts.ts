import type { FastifyBaseLogger } from 'fastify';
import type { TokenService } from '../../plugins/auth.ts';
import type { WatcherRegistry } from './presence.registry.ts';

/** One batched query per period, whatever the number of streams; within the contract's 5 s. */
export const STREAM_ACCOUNT_CHECK_MS = 4000;

export interface StreamAccountCheckOptions {
  registry: Pick<WatcherRegistry, 'viewerIds' | 'closeStreamsOf'>;
  tokens: Pick<TokenService, 'inactiveAmong'>;
  log: FastifyBaseLogger;
  intervalMs?: number;
}

/**
 * Ends the presence streams of viewers whose account was deactivated or deleted: every period,
 * one query over this process's viewers (none when there are no streams). A stream's token
 * stops being accepted within the same few seconds (TokenService.verify), so a closed stream
 * cannot be reopened with it.
 */
export class StreamAccountCheck {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: StreamAccountCheckOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? STREAM_ACCOUNT_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Never rejects; a check still running (MySQL slow) is not stacked on. */
  async check(): Promise<void> {
    const viewerIds = this.options.registry.viewerIds();
    if (viewerIds.length === 0 || this.running) return;
    this.running = true;
    try {
      const inactive = await this.options.tokens.inactiveAmong(viewerIds);
      for (const userId of inactive) this.options.registry.closeStreamsOf(userId, 'Account deactivated');
      if (inactive.length > 0) this.options.log.info({ userIds: inactive }, 'closed presence streams of deactivated accounts');
    } catch (error) {
      this.options.log.warn({ err: error }, 'presence stream account check failed');
    } finally {
      this.running = false;
    }
  }
}
