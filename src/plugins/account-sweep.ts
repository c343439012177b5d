import type { FastifyBaseLogger } from 'fastify';
import type { TokenService } from './auth.ts';

/** One batched query per period, whatever the number of sessions; within the contract's 5 s. */
export const ACCOUNT_CHECK_INTERVAL_MS = 4000;

export interface AccountSweepOptions {
  /** What is swept, for log lines: "sockets", "presence streams". */
  label: string;
  /** The users holding open sessions in this process now. */
  userIds: () => readonly number[];
  /** Ends every session of these users (their account was deactivated or deleted). */
  closeSessionsOf: (userIds: readonly number[]) => void;
  accounts: Pick<TokenService, 'inactiveAmong'>;
  log: FastifyBaseLogger;
  intervalMs?: number;
}

/**
 * Ends the long-lived sessions (sockets, streams) of users deactivated or deleted while
 * connected: every period, one fresh query over this process's users, none when nobody is
 * connected. Their tokens stop being accepted within the same few seconds (TokenService.verify),
 * so a closed session cannot be reopened with them.
 */
export class AccountSweep {
  private timer: NodeJS.Timeout | undefined;
  /** A slow check (MySQL struggling) is not stacked on by the next period's. */
  private running = false;

  constructor(private readonly options: AccountSweepOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? ACCOUNT_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Never rejects. */
  async check(): Promise<void> {
    const { label, log } = this.options;
    const userIds = this.options.userIds();
    if (userIds.length === 0 || this.running) return;
    this.running = true;
    try {
      const inactive = await this.options.accounts.inactiveAmong(userIds);
      if (inactive.length === 0) return;
      this.options.closeSessionsOf(inactive);
      log.info({ userIds: inactive }, `closed ${label} of deactivated accounts`);
    } catch (error) {
      log.warn({ err: error }, `${label}: account check failed`);
    } finally {
      this.running = false;
    }
  }
}
