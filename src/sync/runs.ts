/**
 * Sync runs and the per-account lease that keeps two syncs of one account from running at once,
 * across processes and on both backends: a row in `sync_locks` (primary key = account), kept
 * alive by a heartbeat; a lease whose heartbeat is older than `STALE_MS` belonged to a process
 * that died, so its run is closed as abandoned and the lease taken over.
 */
import { hostname } from 'node:os';
import { SwitchboardError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import type { Account, SyncRun } from './types.js';

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
};

const RUN_COLUMNS =
  'id, account_id, account_name, connector, started_at, finished_at, success, objects, pages, error, metadata';

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
});

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Takes the account's lease and opens its run record, atomically; refuses when a live sync holds it. */
export async function startRun(db: Db, account: Account): Promise<SyncRun> {
  const now = new Date();
  try {
    return await db.transaction(async (tx) => {
      const [held] = await tx.query<{ run_id: number; owner: string; heartbeat_at: string }>(
        'SELECT run_id, owner, heartbeat_at FROM sync_locks WHERE account_id = ?',
        [account.id],
      );
      if (held) {
        if (now.getTime() - Date.parse(held.heartbeat_at) < STALE_MS) {
          throw new SwitchboardError(
            'CONFLICT',
            `account "${account.name}" (${account.connector}) is being synced already by run ${held.run_id} (${held.owner}); wait for it to finish`,
            { retryable: true, data: { runId: Number(held.run_id) } },
          );
        }
        await tx.exec(
          'UPDATE sync_runs SET finished_at = ?, success = 0, error = ? WHERE id = ? AND finished_at IS NULL',
          [
            now.toISOString(),
            `abandoned: its process (${held.owner}) stopped sending heartbeats at ${held.heartbeat_at}`,
            held.run_id,
          ],
        );
        await tx.exec('DELETE FROM sync_locks WHERE account_id = ? AND run_id = ?', [account.id, held.run_id]);
      }
      const [row] = await tx.query<RunRow>(
        `INSERT INTO sync_runs (account_id, account_name, connector, started_at) VALUES (?, ?, ?, ?) RETURNING ${RUN_COLUMNS}`,
        [account.id, account.name, account.connector, now.toISOString()],
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

/** Closes the run with its outcome and releases the lease. */
export async function finishRun(
  db: Db,
  run: SyncRun,
  outcome: { success: boolean; error?: string; metadata?: string },
): Promise<SyncRun> {
  return db.transaction(async (tx) => {
    await tx.exec('UPDATE sync_runs SET finished_at = ?, success = ?, error = ?, metadata = ? WHERE id = ?', [
      new Date().toISOString(),
      outcome.success ? 1 : 0,
      outcome.error ?? null,
      outcome.metadata ?? null,
      run.id,
    ]);
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
