/**
 * PostgreSQL through a `pg` Pool. Statements are written with `?` and rewritten to `$n`; BIGINT
 * and NUMERIC come back as numbers (like SQLite) rather than strings. A `schema` (from the
 * option or the URL's `?schema=`) is created if missing and put first on the search path.
 */
import pg from 'pg';
import { getLogger } from '../core/log.js';
import { InvalidArgumentError } from '../core/errors.js';
import {
  bindAll,
  bindValue,
  checkSpec,
  lastPerKey,
  POSTGRES,
  rowPlaceholders,
  toNumberedPlaceholders,
  upsertSql,
  upsertUnnestSql,
} from './dialect.js';
import { applyMigrations } from './migrate.js';
import type { Db, Migration, Row, Store, UpsertSpec } from './types.js';

const INT8 = 20;
const NUMERIC = 1700;

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

type Client = pg.Pool | pg.PoolClient;

/** Splits `?schema=` off a URL (pg would pass unknown parameters to the server). */
export function parsePostgresUrl(url: string): {
  connectionString: string;
  schema: string | undefined;
  display: string;
} {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  const display = new URL(u.href);
  if (display.password) display.password = '***';
  return { connectionString: u.href, schema, display: display.href };
}

const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]*$/;

async function queryOn<T>(
  client: Client,
  sql: string,
  params?: readonly unknown[],
): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
  return client.query<T & pg.QueryResultRow>(toNumberedPlaceholders(sql), bindAll(params));
}

async function upsertOn(client: Client, spec: UpsertSpec, rows: readonly (readonly unknown[])[]): Promise<number> {
  checkSpec(spec);
  const unique = lastPerKey(spec, rows);
  if (unique.length === 0) return 0;
  const width = spec.columns.length;
  if (spec.pgTypes) {
    const arrays = spec.columns.map((_, j) => unique.map((row) => bindValue(row[j])));
    const res = await client.query(upsertUnnestSql(spec, spec.pgTypes), arrays);
    return res.rowCount ?? 0;
  }
  const perStatement = Math.max(1, Math.floor(POSTGRES.maxParams / width));
  let changed = 0;
  for (let start = 0; start < unique.length; start += perStatement) {
    const chunk = unique.slice(start, start + perStatement);
    const values = new Array<string>(chunk.length).fill(rowPlaceholders(width)).join(', ');
    const params: unknown[] = [];
    for (const row of chunk) for (const v of row) params.push(v);
    const res = await queryOn(client, upsertSql(spec, values), params);
    changed += res.rowCount ?? 0;
  }
  return changed;
}

function view(client: pg.PoolClient, depth: number): Db {
  const tx: Db = {
    dialect: POSTGRES,
    query: async <T extends Row = Row>(sql: string, params?: readonly unknown[]) =>
      (await queryOn<T>(client, sql, params)).rows,
    exec: async (sql, params) => (await queryOn(client, sql, params)).rowCount ?? 0,
    script: async (sql) => {
      await client.query(sql);
    },
    upsertMany: (spec, rows) => upsertOn(client, spec, rows),
    transaction: <T>(fn: (tx: Db) => Promise<T>) => savepoint(client, depth + 1, fn),
    migrate: (namespace: string, migrations: readonly Migration[]) =>
      savepoint(client, depth + 1, (inner) => applyMigrations(inner, migrationLock, namespace, migrations)),
  };
  return tx;
}

async function savepoint<T>(client: pg.PoolClient, depth: number, fn: (tx: Db) => Promise<T>): Promise<T> {
  const name = `sp${depth}`;
  await client.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn(view(client, depth));
    await client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (err) {
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw err;
  }
}

/** One lock per schema, held to the end of the migrating transaction. */
async function migrationLock(tx: Db): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':switchboard-migrate'))`);
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly dialect = POSTGRES;
  readonly location: string;
  private readonly pool: pg.Pool;
  private closed = false;

  private constructor(pool: pg.Pool, location: string) {
    this.pool = pool;
    this.location = location;
  }

  static async open(url: string, opts: { schema?: string; max?: number } = {}): Promise<PostgresStore> {
    const parsed = parsePostgresUrl(url);
    const schema = opts.schema ?? parsed.schema;
    if (schema !== undefined && !SCHEMA.test(schema))
      throw new InvalidArgumentError(`schema name ${JSON.stringify(schema)} must be letters, digits and _`);
    if (schema) {
      // Create it before the pool pins it on every connection's search path.
      const admin = new pg.Client({ connectionString: parsed.connectionString });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: parsed.connectionString,
      max: opts.max ?? 8,
      types,
      ...(schema ? { options: `-c search_path="${schema}"` } : {}),
    });
    const log = getLogger('store');
    pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection failed'));
    await pool.query('SELECT 1');
    return new PostgresStore(pool, parsed.display + (schema ? ` (schema ${schema})` : ''));
  }

  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return queryOn<T>(this.pool, sql, params).then((r) => r.rows);
  }

  async exec(sql: string, params?: readonly unknown[]): Promise<number> {
    return (await queryOn(this.pool, sql, params)).rowCount ?? 0;
  }

  async script(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  upsertMany(spec: UpsertSpec, rows: readonly (readonly unknown[])[]): Promise<number> {
    return this.transaction((tx) => tx.upsertMany(spec, rows));
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(view(client, 0));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  migrate(namespace: string, migrations: readonly Migration[]): Promise<number> {
    return this.transaction((tx) => applyMigrations(tx, migrationLock, namespace, migrations));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
