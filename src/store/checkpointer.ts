/**
 * Checkpoints a SQLite WAL database from a worker thread, so the writing thread never waits on it.
 *
 * In WAL mode with `synchronous = NORMAL` a commit only appends to the WAL; the disk cost is paid
 * when pages are copied back into the database file and fsynced (the checkpoint). SQLite's
 * auto-checkpoint runs it inside the commit that crosses 1000 pages, on the thread that committed:
 * in this event loop that is a 10-50 ms stall every 4 MB written, and for scattered updates (a 1%
 * incremental re-sync touches a page of the table and of each index per row) most of the write
 * time. PostgreSQL leaves that work to a background checkpointer; this is the same for SQLite: a
 * second connection in a worker thread runs `wal_checkpoint(PASSIVE)` (which never blocks readers
 * or writers) once writes pause or the WAL file passes `softBytes`. The writer's own auto-checkpoint
 * stays on at `hardBytes` as the bound on the WAL's size (a checkpoint cannot reset the WAL while
 * writes keep landing during it) and as the fallback if the worker fails.
 *
 * `softBytes` is also the store's `journal_size_limit`, and SQLite cuts a reset WAL back to that
 * size, not to zero: once a process has written that much, the file stays at it, so from then on
 * the worker checkpoints at every poll that follows a commit, pause or not. Measured, that is the
 * better policy (bench/README.md, sync-ingest): reading the un-checkpointed frame count from the
 * -shm header instead, to wait for the pause as first meant, let back-to-back syncs grow the WAL to
 * `hardBytes`, where the writer stalls on its own checkpoint (re-syncs 460 ms against 394).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** The worker checkpoints once no commit has landed for this long (ms). */
  idleMs: number;
  /** ... or whenever the WAL file is this large (it stays so once reached, see above), writes going on or not. */
  softBytes: number;
  /** The writer's own auto-checkpoint: the WAL never grows much past this. */
  hardBytes: number;
}

export const CHECKPOINTER_DEFAULTS: CheckpointerOptions = {
  idleMs: 200,
  softBytes: 64 * 1024 * 1024,
  hardBytes: 256 * 1024 * 1024,
};

/** What the worker reports after each checkpoint (SQLite's own counts, in WAL frames). */
export interface CheckpointResult {
  busy: boolean;
  /** Frames in the WAL. */
  log: number;
  /** Frames of it now in the database file. */
  checkpointed: number;
}

interface WorkerData extends CheckpointerOptions {
  file: string;
  driver: string;
  pollMs: number;
}

type FromWorker = { kind: 'ready' } | ({ kind: 'checkpoint' } & CheckpointResult);

// Plain CommonJS so the same source runs under tsx (tests) and from dist: the worker loads the
// driver by the path the parent resolved, not by a module specifier it would resolve itself.
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(w.driver);
const db = new Database(w.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let seen = db.pragma('data_version', { simple: true });
let changedAt = Date.now();
let pending = true; // the WAL that made the writer start this worker
const walBytes = () => { try { return statSync(w.file + '-wal').size; } catch { return 0; } };
const timer = setInterval(() => {
  const version = db.pragma('data_version', { simple: true });
  const now = Date.now();
  if (version !== seen) { seen = version; changedAt = now; pending = true; }
  if (!pending || (now - changedAt < w.idleMs && walBytes() < w.softBytes)) return;
  const [r] = db.pragma('wal_checkpoint(PASSIVE)');
  if (r.busy === 0 && r.log === r.checkpointed) pending = false;
  parentPort.postMessage({ kind: 'checkpoint', busy: r.busy !== 0, log: r.log, checkpointed: r.checkpointed });
}, w.pollMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
parentPort.postMessage({ kind: 'ready' });
`;

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private listeners: ((r: CheckpointResult) => void)[] = [];

  /**
   * Starts the worker; `onReady` runs once it has its connection (the writer may then raise its
   * auto-checkpoint), `onFailed` if it dies (the writer should go back to checkpointing itself).
   */
  constructor(
    file: string,
    readonly options: CheckpointerOptions,
    hooks: { onReady: () => void; onFailed: (err: Error) => void },
  ) {
    const data: WorkerData = {
      ...options,
      file,
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      pollMs: Math.max(10, Math.min(100, Math.floor(options.idleMs / 2))),
    };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data, name: 'sqlite-checkpointer' });
    // Never what keeps a process alive; the store's close() stops it.
    this.worker.unref();
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      hooks.onFailed(err);
    };
    this.worker.on('message', (m: FromWorker) => {
      if (m.kind === 'ready') hooks.onReady();
      else for (const l of this.listeners) l({ busy: m.busy, log: m.log, checkpointed: m.checkpointed });
    });
    this.worker.on('error', fail);
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (code !== 0) fail(new Error(`the SQLite checkpointer exited with code ${code}`));
        resolve();
      }),
    );
  }

  /** Calls `listener` after each checkpoint the worker runs; returns the unsubscribe. */
  onCheckpoint(listener: (r: CheckpointResult) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Stops the worker and closes its connection (before the writer's, so the writer's close is last). */
  async close(): Promise<void> {
    // Held open until it has exited, or a process with nothing else to do would end first.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.exited;
  }
}
