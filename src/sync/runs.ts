/**
 * Sync runs and the per-account lease that keeps two syncs of one account from running at once,
 * across processes and on both backends: a row in `sync_locks` (primary key = account), kept
 * alive by a heartbeat; a lease whose heartbeat is older than `STALE_MS` belonged to a process
 * that died, so its run is closed as abandoned and the lease taken over.
 */
import { hostname } from 'node:os';
import { SwitchboardError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import type { Account, RunStarter, RunStatus, SyncRun } from './types.js';

export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 60_000;

const OWNER = `${hostname()}:${process.pid}`;

type RunRow = {
  id: number;
  account_id: number | null;
  account_name: string;
  connector: string;
  started_at: string;
  finished_at: string | null;
  success: number | null;
  objects: number;
  pages: number;
  error: string | null;
  metadata: string | null;
  status: string | null;
  checkpoints: number;
  state: string | null;
  started_by: string | null;
};

const RUN_COLUMNS =
  'id, account_id, account_name, connector, started_at, finished_at, success, objects, pages, error, metadata, status, checkpoints, state, started_by';

const STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'abandoned'];

const fromRow = (r: RunRow): SyncRun => ({
  id: Number(r.id),
  accountId: r.account_id === null ? null : Number(r.account_id),
  accountName: r.account_name,
  connector: r.connector,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  success: r.success === null ? null : Number(r.success) === 1,
  objects: Number(r.objects),
  pages: Number(r.pages),
  error: r.error,
  metadata: r.metadata,
  status: STATUSES.includes(r.status as RunStatus)
    ? (r.status as RunStatus)
    : r.success === null
      ? 'running'
      : Number(r.success) === 1
        ? 'succeeded'
        : 'failed',
  checkpoints: Number(r.checkpoints ?? 0),
  state: r.state,
  startedBy: (r.started_by as RunStarter | null) ?? null,
});

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Takes the account's lease and opens its run record, atomically; refuses when a live sync holds it. */
export async function startRun(db: Db, account: Account, startedBy: RunStarter = 'manual'): Promise<SyncRun> {
  const now = new Date();
  try {
    return await db.transaction(async (tx) => {
      const [held] = await tx.query<{ run_id: number; owner: string; heartbeat_at: string }>(
        'SELECT run_id, owner, heartbeat_at FROM sync_locks WHERE account_id = ?',
        [account.id],
      );
      if (held) {
        // A fresh lease is someone's live sync, unless its owner was a process of this machine that is gone.
        if (now.getTime() - Date.parse(held.heartbeat_at) < STALE_MS && ownerAlive(held.owner) !== false) {
          throw new SwitchboardError(
            'CONFLICT',
            `account "${account.name}" (${account.connector}) is being synced already by run ${held.run_id} (${held.owner}); wait for it to finish`,
            { retryable: true, data: { runId: Number(held.run_id) } },
          );
        }
        await tx.exec(
          "UPDATE sync_runs SET finished_at = ?, success = 0, status = 'abandoned', error = ? WHERE id = ? AND finished_at IS NULL",
          [
            now.toISOString(),
            `abandoned: its process (${held.owner}) stopped (last heartbeat ${held.heartbeat_at})`,
            held.run_id,
          ],
        );
        await tx.exec('DELETE FROM sync_locks WHERE account_id = ? AND run_id = ?', [account.id, held.run_id]);
      }
      const [row] = await tx.query<RunRow>(
        `INSERT INTO sync_runs (account_id, account_name, connector, started_at, status, started_by) VALUES (?, ?, ?, ?, 'running', ?) RETURNING ${RUN_COLUMNS}`,
        [account.id, account.name, account.connector, now.toISOString(), startedBy],
      );
      await tx.exec('INSERT INTO sync_locks (account_id, run_id, owner, heartbeat_at) VALUES (?, ?, ?, ?)', [
        account.id,
        row!.id,
        OWNER,
        now.toISOString(),
      ]);
      return fromRow(row!);
    });
  } catch (err) {
    // Two starters raced past the SELECT: the primary key let one through.
    if (isUniqueViolation(err))
      throw new SwitchboardError(
        'CONFLICT',
        `account "${account.name}" (${account.connector}) is being synced already; wait for it to finish`,
        { retryable: true, cause: err },
      );
    throw err;
  }
}

/** Refreshes the lease; false when it is no longer ours (taken over after we looked dead). */
export async function heartbeat(db: Db, accountId: number, runId: number): Promise<boolean> {
  return (
    (await db.exec('UPDATE sync_locks SET heartbeat_at = ? WHERE account_id = ? AND run_id = ?', [
      new Date().toISOString(),
      accountId,
      runId,
    ])) === 1
  );
}

/** Counts a committed page on the run (in the page's transaction) and refreshes the lease. */
export async function countPage(db: Db, accountId: number, runId: number, objects: number): Promise<void> {
  await db.exec('UPDATE sync_runs SET objects = objects + ?, pages = pages + 1 WHERE id = ?', [objects, runId]);
  if (!(await heartbeat(db, accountId, runId))) {
    throw new SwitchboardError(
      'CONFLICT',
      `run ${runId} lost its lease on account ${accountId} (another process took it over); stopping`,
    );
  }
}

/**
 * Commits a connector's checkpoint: the account's state and the run's, in the caller's transaction
 * (the runner's, together with the page before it when that page is still to be written).
 */
export async function saveCheckpoint(db: Db, accountId: number, runId: number, state: string): Promise<void> {
  const now = new Date().toISOString();
  await db.exec('UPDATE accounts SET state = ?, state_updated_at = ? WHERE id = ?', [state, now, accountId]);
  await db.exec('UPDATE sync_runs SET state = ?, checkpoints = checkpoints + 1 WHERE id = ?', [state, runId]);
}

/** Closes the run with its outcome and releases the lease. */
export async function finishRun(
  db: Db,
  run: SyncRun,
  outcome: { success: boolean; status?: RunStatus; error?: string; metadata?: string },
): Promise<SyncRun> {
  return db.transaction(async (tx) => {
    await tx.exec(
      'UPDATE sync_runs SET finished_at = ?, success = ?, status = ?, error = ?, metadata = ? WHERE id = ?',
      [
        new Date().toISOString(),
        outcome.success ? 1 : 0,
        outcome.status ?? (outcome.success ? 'succeeded' : 'failed'),
        outcome.error ?? null,
        outcome.metadata ?? null,
        run.id,
      ],
    );
    if (run.accountId !== null)
      await tx.exec('DELETE FROM sync_locks WHERE account_id = ? AND run_id = ?', [run.accountId, run.id]);
    return getRun(tx, run.id);
  });
}

export async function getRun(db: Db, id: number): Promise<SyncRun> {
  const [row] = await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM sync_runs WHERE id = ?`, [id]);
  if (!row) throw new SwitchboardError('NOT_FOUND', `no sync run with id ${id}`);
  return fromRow(row);
}

export async function listRuns(db: Db, filter: { accountId?: number; limit?: number } = {}): Promise<SyncRun[]> {
  const limit = filter.limit ?? 50;
  const rows =
    filter.accountId !== undefined
      ? await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM sync_runs WHERE account_id = ? ORDER BY id DESC LIMIT ?`, [
          filter.accountId,
          limit,
        ])
      : await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT ?`, [limit]);
  return rows.map(fromRow);
}

/** Whether a process of this host with this pid is alive (a lease owner is `host:pid`). */
function ownerAlive(owner: string): boolean | undefined {
  const at = owner.lastIndexOf(':');
  if (at < 0 || owner.slice(0, at) !== hostname()) return undefined; // another machine: only its heartbeat tells
  const pid = Number(owner.slice(at + 1));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Closes runs a crash left open (`success` null) as `abandoned`, and frees their leases: runs without
 * a lease, runs whose lease went stale, and runs whose owner was a process of this machine that is
 * gone (a `kill -9` of `switchboard start` mid-sync). A live owner's run, here or on another
 * machine with a fresh heartbeat, is left alone. Returns the runs it closed.
 */
export async function closeAbandonedRuns(db: Db): Promise<SyncRun[]> {
  const open = await db.query<RunRow & { owner: string | null; heartbeat_at: string | null; lock_run: number | null }>(
    `SELECT ${RUN_COLUMNS.split(', ')
      .map((c) => `r.${c}`)
      .join(
        ', ',
      )}, l.owner, l.heartbeat_at, l.run_id AS lock_run FROM sync_runs r LEFT JOIN sync_locks l ON l.account_id = r.account_id WHERE r.finished_at IS NULL`,
  );
  const closed: SyncRun[] = [];
  const now = Date.now();
  for (const r of open) {
    const ours = r.lock_run !== null && Number(r.lock_run) === Number(r.id);
    let why: string | undefined;
    if (!ours) why = 'its run had no lease (the process that ran it stopped)';
    else if (now - Date.parse(r.heartbeat_at!) >= STALE_MS)
      why = `its process (${r.owner}) stopped sending heartbeats at ${r.heartbeat_at}`;
    else if (ownerAlive(r.owner!) === false) why = `its process (${r.owner}) is gone`;
    if (!why) continue;
    await db.transaction(async (tx) => {
      const n = await tx.exec(
        "UPDATE sync_runs SET finished_at = ?, success = 0, status = 'abandoned', error = ? WHERE id = ? AND finished_at IS NULL",
        [new Date().toISOString(), `abandoned: ${why}`, r.id],
      );
      if (ours) await tx.exec('DELETE FROM sync_locks WHERE account_id = ? AND run_id = ?', [r.account_id, r.id]);
      if (n) closed.push(await getRun(tx, Number(r.id)));
    });
  }
  return closed;
}
