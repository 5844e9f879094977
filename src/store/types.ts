/**
 * The store's one async interface over SQLite and PostgreSQL. Statements use `?` placeholders
 * (rewritten to `$n` for PostgreSQL); values are TEXT / INTEGER / BIGINT / REAL so one statement
 * serves both backends (times as ISO-8601 text, booleans as 0/1, JSON as text).
 */

export type Row = Record<string, unknown>;

export type DialectName = 'sqlite' | 'postgres';

/** The few spots where the two SQL dialects differ in DDL. */
export interface Dialect {
  readonly name: DialectName;
  /** A surrogate integer key column type: `id ${dialect.autoId}`. */
  readonly autoId: string;
  /** Largest number of bound parameters one statement may carry. */
  readonly maxParams: number;
}

/** A batched insert that updates the listed columns when the conflict key exists already. */
export interface UpsertSpec {
  table: string;
  columns: readonly string[];
  /** Columns of the unique key that decides "exists already". */
  conflict: readonly string[];
  /** Columns overwritten from the new row on conflict (others, e.g. user notes, are kept). */
  update: readonly string[];
  /**
   * PostgreSQL types of `columns` (`bigint`, `text`, ...). When given, PostgreSQL gets one
   * `INSERT ... SELECT * FROM unnest($1::bigint[], ...)` per batch: a handful of array
   * parameters parse and plan much faster than thousands of scalar ones.
   */
  pgTypes?: readonly string[];
}

/**
 * One migration of a namespace. Versions are positions in the list (1-based), so append only.
 * `up` is a SQL script (several statements, no parameters) or a function for dialect-specific DDL.
 */
export interface Migration {
  name: string;
  up: string | ((db: Db) => Promise<void>);
}

export interface Db {
  readonly dialect: Dialect;
  /** Rows of a SELECT (or of a statement with RETURNING). */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one statement; returns the number of rows it changed. */
  exec(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs several `;`-separated statements without parameters (DDL). */
  script(sql: string): Promise<void>;
  /**
   * Inserts-or-updates many rows, each an array in `spec.columns` order, atomically: a prepared
   * statement loop on SQLite, multi-row statements on PostgreSQL. Later duplicates of a key win.
   */
  upsertMany(spec: UpsertSpec, rows: readonly (readonly unknown[])[]): Promise<number>;
  /** Runs `fn` in a transaction (a savepoint when already inside one); rolls back if it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Applies the migrations of `namespace` not yet recorded in `schema_migrations`, in order, in
   * one transaction, serialised against other processes. Returns how many were applied.
   */
  migrate(namespace: string, migrations: readonly Migration[]): Promise<number>;
}

export interface Store extends Db {
  readonly kind: DialectName;
  /** Where the data lives: the SQLite file or the PostgreSQL URL without its password. */
  readonly location: string;
  close(): Promise<void>;
}
