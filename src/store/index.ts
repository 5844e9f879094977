/** The project store: SQLite by default, PostgreSQL by URL, one async interface, per-namespace migrations. */
export { openStore, resolveHome, type OpenStoreOptions } from './open.js';
export type { Db, Dialect, DialectName, Migration, Row, Store, UpsertSpec } from './types.js';
export { POSTGRES, SQLITE } from './dialect.js';
export { isTransientStoreError } from './errors.js';
