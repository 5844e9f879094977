/**
 * SQLite through better-sqlite3: one connection, WAL, foreign keys on. The driver is synchronous,
 * so a transaction that awaits in between statements holds a lock in this process: everything
 * else waits for it (never interleaves with it), and `BEGIN IMMEDIATE` plus a busy timeout
 * serialise writers across processes. Within one process every `openStore` of the same file
 * shares one connection (`openSqlite`), since two synchronous connections in one event loop
 * would wait on each other's locks forever.
 */
import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import { SwitchboardError } from '../core/errors.js';
import { bindAll, checkSpec, needsBinding, rowPlaceholders, SQLITE, upsertSql } from './dialect.js';
import { applyMigrations } from './migrate.js';
import type { Db, Migration, Row, Store, UpsertSpec } from './types.js';

type Statement = Database.Statement<unknown[]>;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly dialect = SQLITE;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private held = false;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(file: string) {
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
    return stmt.run(...args).changes;
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
    return this.outside(() => this.db.transaction(() => this.upsertNow(spec, rows)).immediate());
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.view(0));
        this.db.exec('COMMIT');
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
