/**
 * Syncing accounts: runs each account's connector (go-plugin or Airbyte protocol, see driver.ts),
 * upserts every page in one transaction together with the run's counters, commits each checkpoint
 * with the page before it (or right after it), and records the run's outcome. Many accounts
 * run in parallel, bounded; one account never runs twice at once (see `runs.ts`).
 */
import { stat } from 'node:fs/promises';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import type { Db } from '../store/index.js';
import { getConnector } from './connectors-db.js';
import { cleanAccount, DATA_UPSERT, pageRows } from './data.js';
import { driverFor } from './driver.js';
import { formatDuration } from './duration.js';
import type { PluginLogEntry } from './goplugin/types.js';
import { connectorFolder } from './install.js';
import { countPage, finishRun, heartbeat, HEARTBEAT_MS, saveCheckpoint, startRun } from './runs.js';
import type { Account, DataObjectInput, RunStarter, RunStatus, SyncRun } from './types.js';

export interface SyncProgress {
  account: Account;
  runId: number;
  phase: 'started' | 'page' | 'finished';
  pages: number;
  objects: number;
  elapsedMs: number;
  /** Set with phase `finished`. */
  run?: SyncRun;
}

export interface SyncOptions {
  signal?: AbortSignal;
  onProgress?: (p: SyncProgress) => void;
  /** The connector's log lines; default: the `sync` logger. */
  onLog?: (account: Account, entry: PluginLogEntry) => void;
  handshakeTimeoutMs?: number;
  /**
   * Pages whose transaction may still be running when the connector's Upsert returns (default 1):
   * the connector sends page n+1 while page n commits. 0 answers each Upsert only after its page
   * is committed. A failed write fails the next Upsert and the run; accepted pages still land.
   */
  writeBehind?: number;
}

/** Runs page writes in order, letting up to `window` of them run behind the caller. */
export class WriteBehind {
  private chain: Promise<void> = Promise.resolve();
  private readonly inFlight: Promise<void>[] = [];
  private failure: unknown;

  constructor(private readonly window: number) {}

  async push(job: () => Promise<void>): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    // A macrotask first, so the caller's answer (the Upsert reply) reaches the socket before a
    // synchronous driver (better-sqlite3) holds the event loop for the write.
    const start =
      this.window > 0 ? this.chain.then(() => new Promise<void>((resolve) => setImmediate(resolve))) : this.chain;
    const settled = start
      .then(async () => {
        if (this.failure === undefined) await job();
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      });
    this.chain = settled;
    this.inFlight.push(settled);
    while (this.inFlight.length > this.window) await this.inFlight.shift();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for every accepted write; throws the first failure. */
  async drain(): Promise<void> {
    await this.chain;
    this.inFlight.length = 0;
    if (this.failure !== undefined) throw this.failure;
  }
}

export interface SyncContext {
  db: Db;
  home: string;
}

/** Longest error text kept on a run (the host appends the connector's stderr tail). */
const MAX_ERROR = 8192;

/** A run's longest time when neither the account nor the manifest says (`--timeout`, `timeout`). */
export const DEFAULT_RUN_TIMEOUT_MS = 6 * 3_600_000;

/** A page's rows, and the state of a checkpoint that arrived before the page was written. */
interface Unit {
  rows: unknown[][];
  state?: string;
  started: boolean;
}

/** Where a sync comes from, and what it may do: see `syncAccount`. */
export interface RunOptions extends SyncOptions {
  startedBy?: RunStarter;
  /** Called once the run is recorded (its id known), before the connector starts. */
  onStarted?: (run: SyncRun) => void;
}

/**
 * Syncs one account and returns its recorded run (failed runs too: the connector's failure is
 * data, not an exception). Throws only when the run cannot start: the account is being synced
 * already (CONFLICT) or its connector is unknown (NOT_FOUND).
 */
export async function syncAccount(ctx: SyncContext, account: Account, opts: RunOptions = {}): Promise<SyncRun> {
  const connector = await getConnector(ctx.db, account.connector);
  const cwd = await connectorFolder(ctx.db, ctx.home, connector.name);
  const run = await startRun(ctx.db, account, opts.startedBy ?? 'manual');
  opts.onStarted?.(run);
  const started = Date.now();
  let pages = 0;
  let objects = 0;
  const log = getLogger('sync', { account: account.name, connector: connector.name, run: run.id });
  const progress = (phase: SyncProgress['phase'], extra: Partial<SyncProgress> = {}) => {
    // A throwing progress listener must not leave the run open or its lease held.
    try {
      opts.onProgress?.({ account, runId: run.id, phase, pages, objects, elapsedMs: Date.now() - started, ...extra });
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'a sync progress listener threw');
    }
  };
  progress('started');
  const beat = setInterval(() => {
    heartbeat(ctx.db, account.id, run.id).catch((err: unknown) =>
      log.warn({ err: errorMessage(err) }, 'sync lease heartbeat failed'),
    );
  }, HEARTBEAT_MS);
  beat.unref();

  // The run's own deadline, and the caller's cancel.
  const timeoutMs = account.timeoutMs ?? connector.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  timer.unref();
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;

  const writer = new WriteBehind(opts.writeBehind ?? 1);
  let last: Unit | undefined;
  const write = async (unit: Unit) => {
    unit.started = true;
    await ctx.db.transaction(async (tx) => {
      if (unit.rows.length) {
        await tx.upsertMany(DATA_UPSERT, unit.rows);
        await countPage(tx, account.id, run.id, unit.rows.length);
      }
      if (unit.state !== undefined) await saveCheckpoint(tx, account.id, run.id, unit.state);
    });
    if (unit.rows.length) {
      pages++;
      objects += unit.rows.length;
      progress('page');
    }
  };
  let outcome: { success: boolean; status?: RunStatus; error?: string; metadata?: string };
  try {
    if (!(await stat(cwd).catch(() => undefined))?.isDirectory()) {
      throw new SwitchboardError(
        'NOT_FOUND',
        `the folder of connector "${connector.name}" (${cwd}) is missing; run \`switchboard connector update ${connector.name}\``,
      );
    }
    const [fresh] = await ctx.db.query<{ state: string | null }>('SELECT state FROM accounts WHERE id = ?', [
      account.id,
    ]);
    const driver = await driverFor(connector);
    const result = await driver.run({
      connector,
      cwd,
      options: account.options,
      ...(fresh?.state ? { state: fresh.state } : {}),
      env: { SWITCHBOARD_ACCOUNT: account.name, SWITCHBOARD_CONNECTOR: connector.name, SWITCHBOARD_CONNECTOR_DIR: cwd },
      onPage: async (page: readonly DataObjectInput[]) => {
        // Validated now (a bad page is refused on its own Upsert), written behind (see WriteBehind).
        const unit: Unit = { rows: pageRows(account, page, run.id, new Date().toISOString()), started: false };
        last = unit;
        await writer.push(() => write(unit));
      },
      onCheckpoint: async (state: string) => {
        // With the page before it when that page is still to be written; else on its own, after it.
        if (last && !last.started) last.state = state;
        else {
          const unit: Unit = { rows: [], state, started: false };
          last = unit;
          await writer.push(() => write(unit));
        }
        await writer.drain();
      },
      onClean: async (resource?: string) => {
        await writer.drain();
        const removed = await cleanAccount(ctx.db, account.id, run.id, resource);
        log.info(
          { removed, ...(resource ? { resource } : {}) },
          'connector asked to clean: removed objects not synced in this run',
        );
      },
      onLog: opts.onLog
        ? (entry: PluginLogEntry) => opts.onLog!(account, entry)
        : (entry: PluginLogEntry) =>
            log[entry.level === 'trace' ? 'debug' : entry.level](
              { ...entry.fields, stream: entry.stream },
              entry.message,
            ),
      signal,
      ...(opts.handshakeTimeoutMs ? { handshakeTimeoutMs: opts.handshakeTimeoutMs } : {}),
    });
    await writer.drain();
    outcome = { success: true, metadata: result.metadata };
  } catch (err) {
    await writer.drain().catch(() => {}); // pages already accepted still land; the first error is the run's
    let text = err instanceof SwitchboardError ? `${err.code}: ${err.message}` : errorMessage(err);
    let status: RunStatus = 'failed';
    if (deadline.signal.aborted) {
      status = 'timed_out';
      text = `TIMEOUT: the run took longer than its limit of ${formatDuration(timeoutMs)} and was stopped (set it with \`switchboard account timeout ${account.name} DURATION\` or the manifest's "timeout")`;
    } else if (opts.signal?.aborted) status = 'cancelled';
    outcome = { success: false, status, error: text.length > MAX_ERROR ? `…${text.slice(-MAX_ERROR)}` : text };
    log.warn({ err: text }, 'sync failed');
  } finally {
    clearInterval(beat);
    clearTimeout(timer);
  }
  const finished = await finishRun(ctx.db, run, outcome);
  progress('finished', { run: finished });
  return finished;
}

export interface SyncOutcome {
  account: Account;
  /** The recorded run; absent when the run could not start (then `error` says why). */
  run?: SyncRun;
  error?: SwitchboardError;
}

/** Syncs accounts in parallel, at most `concurrency` at a time (default 4). Never throws for one account's failure. */
export async function syncAccounts(
  ctx: SyncContext,
  accounts: readonly Account[],
  opts: RunOptions & { concurrency?: number } = {},
): Promise<SyncOutcome[]> {
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const outcomes = new Array<SyncOutcome>(accounts.length);
  let next = 0;
  const worker = async () => {
    while (next < accounts.length) {
      const i = next++;
      const account = accounts[i]!;
      try {
        outcomes[i] = { account, run: await syncAccount(ctx, account, opts) };
      } catch (err) {
        outcomes[i] = {
          account,
          error:
            err instanceof SwitchboardError ? err : new SwitchboardError('INTERNAL', errorMessage(err), { cause: err }),
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, accounts.length) }, worker));
  return outcomes;
}
