/**
 * The sync capability's tables (namespace `sync`), c1-core's model with its bugs fixed: every
 * column the code writes exists on both backends, runs carry their account, and user notes
 * survive syncs (the upsert never touches `notes`).
 */
import { randomBytes } from 'node:crypto';
import type { Db, Migration } from '../store/index.js';
import { SwitchboardError } from '../core/errors.js';

export const SYNC_MIGRATIONS: readonly Migration[] = [
  {
    name: 'connectors, accounts, data objects, sync runs, sync locks',
    up: (db: Db) =>
      db.script(`
CREATE TABLE connectors (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL,
  uri TEXT NOT NULL,
  install_command TEXT NOT NULL DEFAULT '',
  update_command TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL,
  installed_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE accounts (
  id ${db.dialect.autoId},
  connector TEXT NOT NULL REFERENCES connectors(name),
  name TEXT NOT NULL,
  options TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (connector, name)
);
CREATE TABLE data_objects (
  id ${db.dialect.autoId},
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  remote_id TEXT NOT NULL,
  connector TEXT NOT NULL,
  resource_name TEXT NOT NULL DEFAULT '',
  uri TEXT NOT NULL DEFAULT '',
  metadata TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  last_synced_at TEXT NOT NULL,
  last_run_id BIGINT,
  UNIQUE (account_id, remote_id)
);
CREATE INDEX data_objects_connector ON data_objects (connector);
CREATE INDEX data_objects_synced ON data_objects (last_synced_at);
CREATE TABLE sync_runs (
  id ${db.dialect.autoId},
  account_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
  account_name TEXT NOT NULL,
  connector TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  success INTEGER,
  objects BIGINT NOT NULL DEFAULT 0,
  pages INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  metadata TEXT
);
CREATE INDEX sync_runs_account ON sync_runs (account_id, started_at);
CREATE TABLE sync_locks (
  account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  run_id BIGINT NOT NULL,
  owner TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL
);
`),
  },
  {
    // Issue 16: state and checkpoints, schedules, per-run timeouts, run status, the full manifest
    // (protocol, options schema, env, ...) and an id that keys this store's connector folders.
    name: 'account state, schedules, timeouts; run status and checkpoints; connector manifests; store id',
    up: async (db: Db) => {
      await db.script(`
ALTER TABLE accounts ADD COLUMN state TEXT;
ALTER TABLE accounts ADD COLUMN state_updated_at TEXT;
ALTER TABLE accounts ADD COLUMN schedule TEXT;
ALTER TABLE accounts ADD COLUMN next_run_at TEXT;
ALTER TABLE accounts ADD COLUMN timeout_ms BIGINT;
ALTER TABLE connectors ADD COLUMN manifest TEXT;
ALTER TABLE sync_runs ADD COLUMN status TEXT;
ALTER TABLE sync_runs ADD COLUMN checkpoints INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN state TEXT;
ALTER TABLE sync_runs ADD COLUMN started_by TEXT;
CREATE INDEX accounts_next_run ON accounts (next_run_at);
CREATE INDEX sync_runs_open ON sync_runs (finished_at);
CREATE TABLE sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`);
      await db.exec(
        "UPDATE sync_runs SET status = CASE WHEN success IS NULL THEN 'running' WHEN success = 1 THEN 'succeeded' ELSE 'failed' END",
      );
      await db.exec('INSERT INTO sync_meta (key, value) VALUES (?, ?)', ['store_id', randomBytes(6).toString('hex')]);
    },
  },
  {
    // "Newest sync first" by run, not by time: an upsert moves a row's entry in any index on a
    // column it changes, and a run id is 1-8 bytes where a timestamp is 24, so the index has a
    // quarter of the pages. A 1% incremental re-sync touches one row in a hundred, scattered: with
    // the timestamp index nearly every one of its pages (a third of the re-sync's page writes).
    // PostgreSQL gets the listing's exact order (NULLs, rows of no run, last); SQLite's DESC has
    // NULLs last already and the rowid is in every index.
    name: 'data objects listed by their last run (index on last_run_id, not last_synced_at)',
    up: async (db: Db) => {
      await db.script('DROP INDEX data_objects_synced');
      await db.script(
        db.dialect.name === 'postgres'
          ? 'CREATE INDEX data_objects_run ON data_objects (last_run_id DESC NULLS LAST, id DESC)'
          : 'CREATE INDEX data_objects_run ON data_objects (last_run_id)',
      );
    },
  },
];

/** This store's id (made once by the migration): it keys the connector folders under a shared home. */
export async function storeId(db: Db): Promise<string> {
  const [row] = await db.query<{ value: string }>('SELECT value FROM sync_meta WHERE key = ?', ['store_id']);
  if (!row) throw new SwitchboardError('INTERNAL', 'the sync tables are not migrated (no store id)');
  return row.value;
}

/** Opens nothing: applies the sync tables to a store (idempotent). */
export async function migrateSync(db: Db): Promise<void> {
  await db.migrate('sync', SYNC_MIGRATIONS);
}
