/**
 * SQLite through better-sqlite3: one connection, WAL, foreign keys on. The driver is synchronous,
 * so a transaction that awaits in between statements holds a lock in this process: everything
 * else waits for it (never interleaves with it), and `BEGIN IMMEDIATE` plus a busy timeout
 * serialise writers across processes. Within one process every `openStore` of the same file
 * shares one connection (`openSqlite`), since two synchronous connections in one event loop
 * would wait on each other's locks forever.
 */
import Database from 'better-sqlite3';
import { closeSync, openSync, statSync } from 'node:fs';
import { SwitchboardError } from '../core/errors.js';
import { bindAll, checkSpec, needsBinding, rowPlaceholders, SQLITE, upsertSql } from './dialect.js';
import { CHECKPOINTER_DEFAULTS, WalCheckpointer, type CheckpointerOptions } from './checkpointer.js';
import { applyMigrations } from './migrate.js';
import type { Db, Migration, Row, Store, UpsertSpec } from './types.js';

type Statement = Database.Statement<unknown[]>;

/** SQLite's own auto-checkpoint, in pages: what the writer does while no checkpointer runs. */
const AUTO_CHECKPOINT_PAGES = 1000;
/** A WAL that reaches this size once means a writing process: it gets a checkpointer. */
const CHECKPOINTER_START_BYTES = 2 * 1024 * 1024;

export interface SqliteStoreOptions {
  /** The background checkpointer's thresholds (file databases only); `false` leaves SQLite's own. */
  checkpointer?: Partial<CheckpointerOptions> | false;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly dialect = SQLITE;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private held = false;
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private readonly checkpointerOptions: CheckpointerOptions | undefined;
  /** Started once this process has written a few MB (a short CLI command never starts one). */
  private checkpointerState: 'off' | 'started' | 'failed' = 'off';
  private walCheckpointer: WalCheckpointer | undefined;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.location = file;
    // Created private before SQLite opens it (SQLite would make it 0644): it holds API keys,
    // execution data and token hashes, and SQLite gives -wal and -shm the database file's mode.
    // An existing file keeps its mode (the home directory, 0700, is what guards it then).
    if (file !== ':memory:' && file !== '') closeSync(openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const memory = file === ':memory:' || file === '';
    if (!memory && options.checkpointer !== false)
      this.checkpointerOptions = { ...CHECKPOINTER_DEFAULTS, ...options.checkpointer };
  }

  /** The background checkpointer, once this process has written enough to start it. */
  get checkpointer(): WalCheckpointer | undefined {
    return this.walCheckpointer;
  }

  /** After a write: hands checkpoints to a worker once the WAL shows this process writes. */
  private wrote(): void {
    const opts = this.checkpointerOptions;
    if (!opts || this.checkpointerState !== 'off') return;
    let size = 0;
    try {
      size = statSync(`${this.location}-wal`).size;
    } catch {
      return;
    }
    if (size < Math.min(CHECKPOINTER_START_BYTES, opts.softBytes)) return;
    this.checkpointerState = 'started';
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    this.walCheckpointer = new WalCheckpointer(this.location, opts, {
      onReady: () => {
        if (this.closed) return;
        this.db.pragma(
          `wal_autocheckpoint = ${Math.max(AUTO_CHECKPOINT_PAGES, Math.floor(opts.hardBytes / pageSize))}`,
        );
        // After a checkpoint resets it, the WAL file is cut back to the size it is kept at.
        this.db.pragma(`journal_size_limit = ${opts.softBytes}`);
      },
      onFailed: () => {
        this.checkpointerState = 'failed';
        this.walCheckpointer = undefined;
        if (!this.closed) this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      },
    });
  }

  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<unknown[]>(sql);
      if (this.statements.size < 500) this.statements.set(sql, stmt);
    }
    return stmt;
  }

  // --- the in-process lock: statements outside a transaction wait while one is open ---
  private async acquire(): Promise<void> {
    if (this.closed) throw new SwitchboardError('UNAVAILABLE', 'the store is closed');
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }

  private async outside<T>(fn: () => T): Promise<T> {
    if (!this.held) {
      if (this.closed) throw new SwitchboardError('UNAVAILABLE', 'the store is closed');
      return fn();
    }
    await this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  // --- statements, run directly (callers decide about the lock) ---
  private queryNow<T>(sql: string, params?: readonly unknown[]): T[] {
    const stmt = this.prepare(sql);
    const args = bindAll(params);
    if (stmt.reader) return stmt.all(...args) as T[];
    stmt.run(...args);
    return [];
  }

  private execNow(sql: string, params?: readonly unknown[]): number {
    const stmt = this.prepare(sql);
    const args = bindAll(params);
    if (stmt.reader) return stmt.all(...args).length;
    const changes = stmt.run(...args).changes;
    if (!this.db.inTransaction) this.wrote();
    return changes;
  }

  private upsertNow(spec: UpsertSpec, rows: readonly (readonly unknown[])[]): number {
    checkSpec(spec);
    const stmt = this.prepare(upsertSql(spec, rowPlaceholders(spec.columns.length)));
    let changed = 0;
    // An array argument binds positionally without spreading; most rows need no conversion.
    for (const row of rows) changed += stmt.run(needsBinding(row) ? bindAll(row) : (row as unknown[])).changes;
    return changed;
  }

  private view(depth: number): Db {
    const tx: Db = {
      dialect: SQLITE,
      query: async <T extends Row = Row>(sql: string, params?: readonly unknown[]) => this.queryNow<T>(sql, params),
      exec: async (sql, params) => this.execNow(sql, params),
      script: async (sql) => {
        this.db.exec(sql);
      },
      upsertMany: async (spec, rows) => this.upsertNow(spec, rows),
      transaction: async <T>(fn: (tx: Db) => Promise<T>) => this.savepoint(depth + 1, fn),
      migrate: async (namespace: string, migrations: readonly Migration[]) =>
        this.savepoint(depth + 1, (inner) => applyMigrations(inner, async () => {}, namespace, migrations)),
    };
    return tx;
  }

  private async savepoint<T>(depth: number, fn: (tx: Db) => Promise<T>): Promise<T> {
    const name = `sp${depth}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this.view(depth));
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw err;
    }
  }

  // --- Store ---
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.outside(() => this.queryNow<T>(sql, params));
  }

  exec(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.outside(() => this.execNow(sql, params));
  }

  script(sql: string): Promise<void> {
    return this.outside(() => {
      this.db.exec(sql);
    });
  }

  upsertMany(spec: UpsertSpec, rows: readonly (readonly unknown[])[]): Promise<number> {
    try {
      checkSpec(spec);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.outside(() => {
      const changed = this.db.transaction(() => this.upsertNow(spec, rows)).immediate();
      this.wrote();
      return changed;
    });
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.view(0));
        this.db.exec('COMMIT');
        this.wrote();
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.release();
    }
  }

  migrate(namespace: string, migrations: readonly Migration[]): Promise<number> {
    // BEGIN IMMEDIATE already excludes other writers, so no extra lock is needed.
    return this.transaction((tx) => applyMigrations(tx, async () => {}, namespace, migrations));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.acquire();
    this.closed = true;
    // The worker's connection closes first, so the writer's close is the last one: it checkpoints
    // what is left and removes the WAL.
    await this.walCheckpointer?.close();
    this.statements.clear();
    this.db.close();
    this.release();
  }
}

const shared = new Map<string, { store: SqliteStore; refs: number }>();

/** A handle on the process-wide connection to `file`; the connection closes with its last handle. */
export function openSqlite(file: string): Store {
  let entry = file === ':memory:' ? undefined : shared.get(file);
  if (!entry) {
    entry = { store: new SqliteStore(file), refs: 0 };
    if (file !== ':memory:') shared.set(file, entry);
  }
  entry.refs++;
  const { store } = entry;
  const owner = entry;
  let closed = false;
  return {
    kind: 'sqlite',
    dialect: SQLITE,
    location: store.location,
    query: (sql, params) => store.query(sql, params),
    exec: (sql, params) => store.exec(sql, params),
    script: (sql) => store.script(sql),
    upsertMany: (spec, rows) => store.upsertMany(spec, rows),
    transaction: (fn) => store.transaction(fn),
    migrate: (namespace, migrations) => store.migrate(namespace, migrations),
    close: async () => {
      if (closed) return;
      closed = true;
      if (--owner.refs > 0) return;
      if (shared.get(file) === owner) shared.delete(file);
      await store.close();
    },
  };
}
