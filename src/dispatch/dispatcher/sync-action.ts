/**
 * Sync as an action (`then: { sync: ACCOUNT }`): the dispatcher starts the account's sync through
 * the sync library on the same store (`SyncApi.startSync`, run recorded as started by `action`),
 * in its own process, and the execution ends with the run. The sync library is loaded on the
 * first sync action, so a dispatcher without them never opens it.
 */
import type { Store } from '../../store/types.js';
import type { SyncApi } from '../../sync/open.js';
import type { SyncRun } from '../../sync/types.js';

/** A sync run as an execution sees it. */
export interface SyncOutcome {
  runId: number;
  /** `connector/name`. */
  account: string;
  connector: string;
  /** running, succeeded, failed, timed_out, cancelled, abandoned */
  status: string;
  finished: boolean;
  success: boolean;
  error: string | null;
  objects: number;
  pages: number;
  startedAt: string;
  finishedAt: string | null;
}

export interface SyncActions {
  /** Starts the account's sync; resolves once its run is recorded. `done` resolves when it ends (never rejects). */
  start(account: string): Promise<{ runId: number; done: Promise<SyncOutcome> }>;
  /** A run as it stands (one another dispatcher started, say). */
  run(id: number): Promise<SyncOutcome>;
  /** Closes runs whose process is gone (so an execution waiting for one can end). */
  closeAbandoned(): Promise<number>;
  close(): Promise<void>;
}

export function outcomeOf(run: SyncRun): SyncOutcome {
  return {
    runId: run.id,
    account: `${run.connector}/${run.accountName}`,
    connector: run.connector,
    status: run.status,
    finished: run.status !== 'running',
    success: run.success === true,
    error: run.error,
    objects: run.objects,
    pages: run.pages,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

/** Sync actions on `store` (the dispatcher's own), with connector folders under `home`. */
export function storeSyncActions(store: Store, home: string): SyncActions {
  let api: Promise<SyncApi> | undefined;
  const open = () => (api ??= import('../../sync/open.js').then((m) => m.openSync({ store, home })));
  return {
    async start(account) {
      const { run, done } = await (await open()).startSync(account, { startedBy: 'action' });
      return { runId: run.id, done: done.then(outcomeOf) };
    },
    async run(id) {
      return outcomeOf(await (await open()).getRun(id));
    },
    async closeAbandoned() {
      return (await (await open()).closeAbandonedRuns()).length;
    },
    async close() {
      if (api) await (await api).close();
    },
  };
}
