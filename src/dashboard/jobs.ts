/**
 * Sync runs started from the dashboard: `SyncApi.sync` (the operation `switchboard sync` uses) in
 * the background, its `onProgress` turned into live frames for /api/live. Page frames are thinned
 * to one per run every 100 ms; started and finished always go out.
 */
import { SwitchboardError, errorMessage } from '../core/errors.js';
import type { SyncProgress } from '../sync/runner.js';
import type { SyncApi } from '../sync/open.js';
import type { Account, SyncRun } from '../sync/types.js';

export interface ProgressView {
  accountId: number;
  account: string;
  runId: number;
  phase: SyncProgress['phase'];
  pages: number;
  objects: number;
  elapsedMs: number;
  run?: SyncRun;
}

export interface OutcomeView {
  accountId: number;
  account: string;
  run: SyncRun | null;
  error: { code: string; message: string } | null;
}

export interface JobView {
  id: number;
  accounts: { id: number; connector: string; name: string }[];
  startedAt: string;
  finishedAt: string | null;
  cancelled: boolean;
  /** The latest progress of each account's run, by account id. */
  progress: Record<string, ProgressView>;
  outcomes: OutcomeView[] | null;
}

export type JobFrame =
  { type: 'sync-job'; job: JobView } | { type: 'sync-progress'; job: number; progress: ProgressView };

const PAGE_FRAME_MS = 100;
/** Finished jobs kept for GET /api/sync. */
const KEEP_FINISHED = 20;

interface Job {
  view: JobView;
  abort: AbortController;
  done: Promise<void>;
}

const label = (a: Pick<Account, 'connector' | 'name'>) => `${a.connector}/${a.name}`;

export class SyncJobs {
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private readonly listeners = new Set<(frame: JobFrame) => void>();
  private closed = false;

  constructor(private readonly sync: SyncApi) {}

  onFrame(listener: (frame: JobFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(frame: JobFrame): void {
    // A failing listener (a socket going away) must not break the job's bookkeeping.
    for (const l of this.listeners) {
      try {
        l(frame);
      } catch {
        /* the listener's own problem */
      }
    }
  }

  /**
   * Resolves the accounts (all when none are named; an unknown one fails the call before anything
   * starts) and starts syncing them; returns at once with the job.
   */
  async start(refs: readonly string[], concurrency: number): Promise<JobView> {
    if (this.closed) throw new SwitchboardError('UNAVAILABLE', 'the dashboard is stopping');
    const resolved = refs.length
      ? await Promise.all(refs.map((r) => this.sync.resolveAccount(r)))
      : await this.sync.listAccounts();
    const accounts = [...new Map(resolved.map((a) => [a.id, a])).values()];
    if (!accounts.length)
      throw new SwitchboardError('NOT_FOUND', 'there are no accounts to sync; create one on the Accounts page first');
    const id = this.nextId++;
    const view: JobView = {
      id,
      accounts: accounts.map((a) => ({ id: a.id, connector: a.connector, name: a.name })),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      cancelled: false,
      progress: {},
      outcomes: null,
    };
    const abort = new AbortController();
    const lastFrame = new Map<number, number>();
    const onProgress = (p: SyncProgress) => {
      const progress: ProgressView = {
        accountId: p.account.id,
        account: label(p.account),
        runId: p.runId,
        phase: p.phase,
        pages: p.pages,
        objects: p.objects,
        elapsedMs: p.elapsedMs,
        ...(p.run ? { run: p.run } : {}),
      };
      view.progress[String(p.account.id)] = progress;
      if (p.phase === 'page') {
        const now = Date.now();
        if (now - (lastFrame.get(p.runId) ?? 0) < PAGE_FRAME_MS) return;
        lastFrame.set(p.runId, now);
      }
      this.emit({ type: 'sync-progress', job: id, progress });
    };
    // The job's frame goes out before any of its progress frames.
    this.emit({ type: 'sync-job', job: view });
    const done = this.sync
      .sync(
        accounts.map((a) => String(a.id)),
        { concurrency, signal: abort.signal, onProgress, onLog: () => {} },
      )
      .then(
        (outcomes) =>
          outcomes.map((o): OutcomeView => ({
            accountId: o.account.id,
            account: label(o.account),
            run: o.run ?? null,
            error: o.error ? { code: o.error.code, message: o.error.message } : null,
          })),
        (err: unknown) =>
          accounts.map((a): OutcomeView => ({
            accountId: a.id,
            account: label(a),
            run: null,
            error: { code: 'INTERNAL', message: errorMessage(err) },
          })),
      )
      .then((outcomes) => {
        view.outcomes = outcomes;
        view.finishedAt = new Date().toISOString();
        this.emit({ type: 'sync-job', job: view });
        this.prune();
      });
    this.jobs.set(id, { view, abort, done });
    return view;
  }

  /** Running jobs, then the last finished ones, newest first. */
  list(): JobView[] {
    return [...this.jobs.values()].map((j) => j.view).sort((a, b) => b.id - a.id);
  }

  get(id: number): JobView {
    const job = this.jobs.get(id);
    if (!job)
      throw new SwitchboardError(
        'NOT_FOUND',
        `no sync job ${id} (the dashboard keeps the last ${KEEP_FINISHED} finished ones)`,
      );
    return job.view;
  }

  /** Cancels a running job's syncs (their runs are recorded as failed). */
  cancel(id: number): JobView {
    const job = this.jobs.get(id);
    if (!job) throw new SwitchboardError('NOT_FOUND', `no sync job ${id}`);
    if (job.view.finishedAt) throw new SwitchboardError('CONFLICT', `sync job ${id} has finished already`);
    job.view.cancelled = true;
    job.abort.abort();
    return job.view;
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.view.finishedAt).sort((a, b) => b.view.id - a.view.id);
    for (const j of finished.slice(KEEP_FINISHED)) this.jobs.delete(j.view.id);
  }

  /** Cancels what runs and waits for it (the stores close after this). */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.jobs.values()) if (!j.view.finishedAt) j.abort.abort();
    await Promise.all([...this.jobs.values()].map((j) => j.done));
    this.listeners.clear();
  }
}
