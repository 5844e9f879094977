/** Opens the dispatcher's tables on the project store (SQLite by default, PostgreSQL by URL). */
import { openStore, type Store } from '../store/index.js';
import { DispatchDb } from './dispatcher/db.js';

export interface OpenOptions {
  /** A PostgreSQL URL (or a SQLite file path/URL); default: SQLite under the home directory. */
  database?: string;
  home?: string;
}

export async function openDispatchDb(
  opts: OpenOptions = {},
): Promise<{ db: DispatchDb; store: Store; close: () => Promise<void> }> {
  const store = await openStore({
    ...(opts.database ? { url: opts.database } : {}),
    ...(opts.home ? { home: opts.home } : {}),
  });
  const db = new DispatchDb(store);
  await db.migrate();
  return { db, store, close: () => store.close() };
}
