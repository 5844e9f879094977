/**
 * `openStore`: SQLite under `$SWITCHBOARD_HOME` by default, PostgreSQL when the URL (option,
 * `--database`, or `SWITCHBOARD_DATABASE_URL`) is `postgres://` / `postgresql://`.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { PostgresStore } from './postgres.js';
import { openSqlite } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** `postgres://...`, `sqlite:<path>`, a file path or `:memory:`. Default: `SWITCHBOARD_DATABASE_URL`, then SQLite in `home`. */
  url?: string;
  /** The data directory; default `SWITCHBOARD_HOME`, then `~/.switchboard`. */
  home?: string;
  /** PostgreSQL only: the schema to use (created if missing). Also read from the URL's `?schema=`. */
  schema?: string;
}

/** The data directory: the option, else `$SWITCHBOARD_HOME`, else `~/.switchboard`. */
export function resolveHome(home?: string): string {
  return resolve(home ?? process.env.SWITCHBOARD_HOME ?? join(homedir(), '.switchboard'));
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const url = opts.url ?? (process.env.SWITCHBOARD_DATABASE_URL || undefined);
  if (url && /^postgres(ql)?:\/\//i.test(url)) {
    try {
      return await PostgresStore.open(url, opts.schema ? { schema: opts.schema } : {});
    } catch (err) {
      throw new SwitchboardError('UNAVAILABLE', `cannot open the PostgreSQL store: ${errorMessage(err)}`, {
        cause: err,
        retryable: true,
      });
    }
  }
  let file: string;
  if (url === ':memory:') file = ':memory:';
  else if (url) file = resolve(url.replace(/^sqlite:(\/\/)?/i, ''));
  else file = join(resolveHome(opts.home), 'switchboard.db');
  try {
    // A directory made here (the home) is private: the store holds API keys and token hashes.
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    return openSqlite(file);
  } catch (err) {
    throw new SwitchboardError('UNAVAILABLE', `cannot open the SQLite store at ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}
