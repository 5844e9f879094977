/**
 * The little the dispatcher needs from the store: statements with `?` placeholders, a
 * transaction, and migrations in its own namespace. `sqlOf` adapts the project store to it.
 */
export type Row = Record<string, unknown>;

export interface Sql {
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Returns the number of rows changed. */
  exec(sql: string, params?: unknown[]): Promise<number>;
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  migrate(namespace: string, migrations: { name: string; up: string }[]): Promise<void>;
}

export function sqlOf(store: Sql): Sql {
  return store;
}
