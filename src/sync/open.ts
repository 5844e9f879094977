/**
 * `openSync`: the sync capability over one store, as a library — what the CLI verbs and the
 * dashboard call. Opening migrates the `sync` tables.
 */
import { openStore, resolveHome, type Store } from '../store/index.js';
import { addAccount, listAccounts, removeAccount, resolveAccount, updateAccount } from './accounts.js';
import { getConnector, listConnectors } from './connectors-db.js';
import { listData, setNote, type DataPage, type DataQuery } from './data.js';
import { installConnector, removeConnector, updateConnector } from './install.js';
import { syncAccounts, type SyncOptions, type SyncOutcome } from './runner.js';
import { listRuns } from './runs.js';
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
  listConnectors(): Promise<ConnectorRecord[]>;
  getConnector(name: string): Promise<ConnectorRecord>;
  addAccount(input: { connector: string; name: string; options?: string }): Promise<Account>;
  listAccounts(filter?: { connector?: string }): Promise<Account[]>;
  /** By id, `connector/name`, or an unambiguous name. */
  resolveAccount(ref: string): Promise<Account>;
  updateAccount(ref: string, change: { name?: string; options?: string }): Promise<Account>;
  removeAccount(ref: string): Promise<Account>;
  /** Syncs the named accounts (all when none are named), in parallel, bounded. */
  sync(refs?: readonly string[], opts?: SyncOptions & { concurrency?: number }): Promise<SyncOutcome[]>;
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
    listConnectors: () => listConnectors(db),
    getConnector: (name) => getConnector(db, name),
    addAccount: (input) => addAccount(db, input),
    listAccounts: (filter) => listAccounts(db, filter),
    resolveAccount: (ref) => resolveAccount(db, ref),
    updateAccount: (ref, change) => updateAccount(db, ref, change),
    removeAccount: (ref) => removeAccount(db, ref),
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
