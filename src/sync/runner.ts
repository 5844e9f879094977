/**
 * Syncing accounts: runs each account's connector under the go-plugin host, upserts every page in
 * one transaction together with the run's counters, and records the run's outcome. Many accounts
 * run in parallel, bounded; one account never runs twice at once (see `runs.ts`).
 */
import { stat } from 'node:fs/promises';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import type { Db } from '../store/index.js';
import { getConnector } from './connectors-db.js';
import { cleanAccount, DATA_UPSERT, pageRows } from './data.js';
import type { PluginLogEntry } from './goplugin/types.js';
import { connectorDir } from './install.js';
import { countPage, finishRun, heartbeat, HEARTBEAT_MS, startRun } from './runs.js';
import type { Account, DataObjectInput, SyncRun } from './types.js';

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

/**
 * Syncs one account and returns its recorded run (failed runs too: the connector's failure is
 * data, not an exception). Throws only when the run cannot start: the account is being synced
 * already (CONFLICT) or its connector is unknown (NOT_FOUND).
 */
export async function syncAccount(ctx: SyncContext, account: Account, opts: SyncOptions = {}): Promise<SyncRun> {
  const connector = await getConnector(ctx.db, account.connector);
  const cwd = connectorDir(ctx.home, connector.name);
  const run = await startRun(ctx.db, account);
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

  const writer = new WriteBehind(opts.writeBehind ?? 1);
  let outcome: { success: boolean; error?: string; metadata?: string };
  try {
    if (!(await stat(cwd).catch(() => undefined))?.isDirectory()) {
      throw new SwitchboardError(
        'NOT_FOUND',
        `the folder of connector "${connector.name}" (${cwd}) is missing; run \`switchboard connector update ${connector.name}\``,
      );
    }
    const { runConnector } = await import('./goplugin/index.js');
    const result = await runConnector({
      command: connector.command,
      cwd,
      options: account.options,
      env: { SWITCHBOARD_HOME: ctx.home, SWITCHBOARD_ACCOUNT: account.name, SWITCHBOARD_CONNECTOR: connector.name },
      onPage: async (page: readonly DataObjectInput[]) => {
        // Validated now (a bad page is refused on its own Upsert), written behind (see WriteBehind).
        const rows = pageRows(account, page, run.id, new Date().toISOString());
        await writer.push(async () => {
          await ctx.db.transaction(async (tx) => {
            if (rows.length) await tx.upsertMany(DATA_UPSERT, rows);
            await countPage(tx, account.id, run.id, rows.length);
          });
          pages++;
          objects += rows.length;
          progress('page');
        });
      },
      onClean: async () => {
        await writer.drain();
        const removed = await cleanAccount(ctx.db, account.id, run.id);
        log.info({ removed }, 'connector asked to clean: removed objects not synced in this run');
      },
      onLog: opts.onLog
        ? (entry: PluginLogEntry) => opts.onLog!(account, entry)
        : (entry: PluginLogEntry) =>
            log[entry.level === 'trace' ? 'debug' : entry.level](
              { ...entry.fields, stream: entry.stream },
              entry.message,
            ),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.handshakeTimeoutMs ? { handshakeTimeoutMs: opts.handshakeTimeoutMs } : {}),
    });
    await writer.drain();
    outcome = { success: true, metadata: result.metadata };
  } catch (err) {
    await writer.drain().catch(() => {}); // pages already accepted still land; the first error is the run's
    const text = err instanceof SwitchboardError ? `${err.code}: ${err.message}` : errorMessage(err);
    outcome = { success: false, error: text.length > MAX_ERROR ? `…${text.slice(-MAX_ERROR)}` : text };
    log.warn({ err: errorMessage(err) }, 'sync failed');
  } finally {
    clearInterval(beat);
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
  opts: SyncOptions & { concurrency?: number } = {},
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
