/**
 * `openSync`: the sync capability over one store, as a library — what the CLI verbs and the
 * dashboard call. Opening migrates the `sync` tables.
 */
import { openStore, resolveHome, type Store } from '../store/index.js';
import { SwitchboardError } from '../core/errors.js';
import {
  addAccount,
  listAccounts,
  removeAccount,
  resetState,
  resolveAccount,
  setAccountTimeout,
  updateAccount,
} from './accounts.js';
import { checkAccountOptions, type CheckResult } from './check.js';
import { getConnector, listConnectors } from './connectors-db.js';
import { listData, setNote, type DataPage, type DataQuery } from './data.js';
import { editConnector, installConnector, removeConnector, updateConnector } from './install.js';
import { syncAccount, syncAccounts, type RunOptions, type SyncOutcome } from './runner.js';
import { closeAbandonedRuns, getRun, listRuns } from './runs.js';
import { scheduleFrom, setSchedule } from './schedule.js';
import { migrateSync } from './schema.js';
import type { OutputSink } from './shell.js';
import type { Account, ConnectorRecord, DataObject, SyncRun } from './types.js';

export interface OpenSyncOptions {
  /** Database URL (see `openStore`); default `SWITCHBOARD_DATABASE_URL`, else SQLite in `home`. */
  database?: string;
  home?: string;
  /** Use an open store instead (not closed by `close()`). */
  store?: Store;
}

export interface SyncApi {
  readonly home: string;
  readonly store: Store;
  installConnector(
    input: string,
    opts?: { name?: string; onOutput?: OutputSink; signal?: AbortSignal },
  ): Promise<ConnectorRecord>;
  updateConnector(name: string, opts?: { onOutput?: OutputSink; signal?: AbortSignal }): Promise<ConnectorRecord>;
  removeConnector(
    name: string,
    opts?: { force?: boolean; onOutput?: OutputSink },
  ): Promise<{ accountsRemoved: number }>;
  /** Replaces a connector's manifest (raw JSON/YAML, URL or path); reinstalls when its source changed. */
  editConnector(
    name: string,
    manifest: string,
    opts?: { onOutput?: OutputSink; signal?: AbortSignal },
  ): Promise<ConnectorRecord>;
  listConnectors(): Promise<ConnectorRecord[]>;
  getConnector(name: string): Promise<ConnectorRecord>;
  /**
   * Options are checked against the connector's options schema always, and by the connector
   * itself (its check) with `check: true` (what the CLI and the dashboard do by default).
   */
  addAccount(input: { connector: string; name: string; options?: string; check?: boolean }): Promise<Account>;
  listAccounts(filter?: { connector?: string }): Promise<Account[]>;
  /** By id, `connector/name`, or an unambiguous name. */
  resolveAccount(ref: string): Promise<Account>;
  updateAccount(ref: string, change: { name?: string; options?: string; check?: boolean }): Promise<Account>;
  removeAccount(ref: string): Promise<Account>;
  /** Validates options for a connector (schema, then its check unless `check: false`); throws with the reason. */
  checkOptions(
    connector: string,
    options: string,
    opts?: { check?: boolean },
  ): Promise<{ options: string; check: CheckResult | null }>;
  /** Forgets an account's state: its next sync is a full one. */
  resetState(ref: string): Promise<Account>;
  /** `{ every: '15m' }`, `{ cron: '0 * * * *' }`, or null to stop scheduling. */
  setSchedule(ref: string, schedule: { every?: string; cron?: string } | null): Promise<Account>;
  /** The longest a run of this account may take (ms); null: the connector's or the default. */
  setTimeout(ref: string, timeoutMs: number | null): Promise<Account>;
  /** Syncs the named accounts (all when none are named), in parallel, bounded. */
  sync(refs?: readonly string[], opts?: RunOptions & { concurrency?: number }): Promise<SyncOutcome[]>;
  /**
   * Starts one account's sync and resolves as soon as its run is recorded: `run` (its id, status
   * `running`) and `done`, which resolves with the finished run (never rejects for the connector's
   * failure). Rejects when the run cannot start (CONFLICT: it is syncing; NOT_FOUND). What an
   * action (a trigger's `then: { sync: ACCOUNT }`) calls.
   */
  startSync(ref: string, opts?: RunOptions): Promise<{ run: SyncRun; done: Promise<SyncRun> }>;
  getRun(id: number): Promise<SyncRun>;
  /** Closes runs a crashed process left open as `abandoned` (the sync service does it at start). */
  closeAbandonedRuns(): Promise<SyncRun[]>;
  listData(q?: Omit<DataQuery, 'accountIds'> & { accounts?: readonly string[] }): Promise<DataPage>;
  setNote(id: number, notes: string): Promise<DataObject>;
  listRuns(filter?: { account?: string; limit?: number }): Promise<SyncRun[]>;
  close(): Promise<void>;
}

export async function openSync(opts: OpenSyncOptions = {}): Promise<SyncApi> {
  const home = resolveHome(opts.home);
  const store = opts.store ?? (await openStore({ home, ...(opts.database ? { url: opts.database } : {}) }));
  try {
    await migrateSync(store);
  } catch (err) {
    if (!opts.store) await store.close();
    throw err;
  }
  const db = store;
  const ctx = { db, home };
  return {
    home,
    store,
    installConnector: (input, o = {}) =>
      installConnector(
        { ...ctx, ...(o.onOutput ? { onOutput: o.onOutput } : {}), ...(o.signal ? { signal: o.signal } : {}) },
        input,
        o.name ? { name: o.name } : {},
      ),
    updateConnector: (name, o = {}) =>
      updateConnector(
        { ...ctx, ...(o.onOutput ? { onOutput: o.onOutput } : {}), ...(o.signal ? { signal: o.signal } : {}) },
        name,
      ),
    removeConnector: (name, o = {}) =>
      removeConnector(
        { ...ctx, ...(o.onOutput ? { onOutput: o.onOutput } : {}) },
        name,
        o.force ? { force: true } : {},
      ),
    editConnector: (name, manifest, o = {}) =>
      editConnector(
        { ...ctx, ...(o.onOutput ? { onOutput: o.onOutput } : {}), ...(o.signal ? { signal: o.signal } : {}) },
        name,
        manifest,
      ),
    listConnectors: () => listConnectors(db),
    getConnector: (name) => getConnector(db, name),
    async addAccount(input) {
      const connector = await getConnector(db, input.connector);
      const taken = (await listAccounts(db, { connector: connector.name })).find((a) => a.name === input.name);
      // Before the check, which starts the connector: a taken name is known at once.
      if (taken)
        throw new SwitchboardError(
          'CONFLICT',
          `connector "${connector.name}" has an account named "${input.name}" already (id ${taken.id})`,
        );
      const { options } = await checkAccountOptions(ctx, connector, input.options ?? '{}', {
        check: input.check === true,
      });
      return addAccount(db, { connector: input.connector, name: input.name, options });
    },
    listAccounts: (filter) => listAccounts(db, filter),
    resolveAccount: (ref) => resolveAccount(db, ref),
    async updateAccount(ref, change) {
      const { check, ...rest } = change;
      if (rest.options !== undefined) {
        const current = await resolveAccount(db, ref);
        const connector = await getConnector(db, current.connector);
        rest.options = (await checkAccountOptions(ctx, connector, rest.options, { check: check === true })).options;
      }
      return updateAccount(db, ref, rest);
    },
    removeAccount: (ref) => removeAccount(db, ref),
    checkOptions: async (connector, options, o = {}) =>
      checkAccountOptions(ctx, await getConnector(db, connector), options, { check: o.check !== false }),
    resetState: (ref) => resetState(db, ref),
    setSchedule: (ref, schedule) => setSchedule(db, ref, schedule ? scheduleFrom(schedule) : null),
    setTimeout: (ref, ms) => setAccountTimeout(db, ref, ms),
    async startSync(ref, o = {}) {
      const account = await resolveAccount(db, ref);
      return new Promise((resolve, reject) => {
        let started = false;
        const done = syncAccount(ctx, account, {
          ...o,
          onStarted: (run) => {
            started = true;
            o.onStarted?.(run);
            resolve({ run, done });
          },
        });
        done.catch((err: unknown) => {
          if (!started) reject(err);
        });
      });
    },
    getRun: (id) => getRun(db, id),
    closeAbandonedRuns: () => closeAbandonedRuns(db),
    async sync(refs = [], o = {}) {
      const accounts = refs.length ? await Promise.all(refs.map((r) => resolveAccount(db, r))) : await listAccounts(db);
      const unique = [...new Map(accounts.map((a) => [a.id, a])).values()];
      return syncAccounts(ctx, unique, o);
    },
    async listData(q = {}) {
      const { accounts, ...rest } = q;
      const accountIds = accounts?.length
        ? (await Promise.all(accounts.map((r) => resolveAccount(db, r)))).map((a) => a.id)
        : undefined;
      return listData(db, { ...rest, ...(accountIds ? { accountIds } : {}) });
    },
    setNote: (id, notes) => setNote(db, id, notes),
    async listRuns(filter = {}) {
      const accountId = filter.account ? (await resolveAccount(db, filter.account)).id : undefined;
      return listRuns(db, {
        ...(accountId !== undefined ? { accountId } : {}),
        ...(filter.limit ? { limit: filter.limit } : {}),
      });
    },
    close: async () => {
      if (!opts.store) await store.close();
    },
  };
}
