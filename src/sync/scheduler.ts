/**
 * The scheduler inside the sync service: wakes at the earliest `next_run_at` (and at least every
 * `pollMs`, to see schedules other processes set), claims the accounts that are due (see
 * schedule.ts: exactly one service gets each due run) and syncs them, one run at a time per
 * account, at most `concurrency` accounts at once. An account still syncing when its next run is
 * due skips that run; one whose lease another process holds is left to it.
 */
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import { syncAccount, type SyncContext } from './runner.js';
import { claimDue, earliestNextRun } from './schedule.js';
import type { Account, SyncRun } from './types.js';

export interface SchedulerOptions {
  /** Longest sleep between looks at the store (default 15 s). */
  pollMs?: number;
  concurrency?: number;
  /** Each scheduled run as it ends (tests, the dashboard). */
  onRun?: (account: Account, run: SyncRun) => void;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly running = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private ticking: Promise<void> | undefined;
  private readonly log = getLogger('sync');

  constructor(
    private readonly ctx: SyncContext,
    private readonly opts: SchedulerOptions = {},
  ) {}

  start(): void {
    this.wake(0);
  }

  /** Claims and starts what is due now; resolves when the claims are made (not when the runs end). */
  tick(): Promise<void> {
    this.ticking ??= this.claim().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async claim(): Promise<void> {
    if (this.stopped) return;
    const due = await claimDue(this.ctx.db);
    for (const account of due) {
      if (this.running.has(account.id)) {
        this.log.warn(
          { account: account.name },
          'a scheduled sync is due while the last one still runs: skipped this one',
        );
        continue;
      }
      const run = this.runOne(account).finally(() => {
        this.running.delete(account.id);
        this.wake(0);
      });
      this.running.set(account.id, run);
    }
  }

  private async runOne(account: Account): Promise<void> {
    await Promise.resolve(); // this run is in `running` from here on
    // Bounded: wait for a slot (accounts are claimed already; they start as others end).
    while (this.running.size > (this.opts.concurrency ?? 4)) await Promise.race(this.running.values());
    if (this.stopped) return;
    try {
      const run = await syncAccount(this.ctx, account, { startedBy: 'schedule', signal: this.abort.signal });
      this.opts.onRun?.(account, run);
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'CONFLICT')
        this.log.info({ account: account.name }, `scheduled sync skipped: ${err.message}`);
      else this.log.warn({ account: account.name, err: errorMessage(err) }, 'a scheduled sync could not start');
    }
  }

  private wake(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    const poll = this.opts.pollMs ?? 15_000;
    try {
      await this.tick();
      const next = await earliestNextRun(this.ctx.db);
      const wait = next ? Math.min(Math.max(next.getTime() - Date.now(), 50), poll) : poll;
      this.wake(wait);
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: errorMessage(err) }, 'the sync scheduler could not read the store; trying again');
      this.wake(poll);
    }
  }

  /** Resolves when no scheduled run of this service is in progress. */
  async idle(): Promise<void> {
    await this.ticking;
    while (this.running.size) await Promise.all(this.running.values());
  }

  /** Stops scheduling, cancels the scheduled runs in progress and waits for them to be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
    this.abort.abort();
    await Promise.all(this.running.values());
  }
}
