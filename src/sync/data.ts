/**
 * Data objects: a page of a sync upserted by (account, remote id) — user notes are never
 * overwritten — and the queries behind `data list` and `data note`.
 */
import { InvalidArgumentError, SwitchboardError } from '../core/errors.js';
import { PageRejectedError } from './goplugin/errors.js';
import type { Db, UpsertSpec } from '../store/index.js';
import type { DataObject, DataObjectInput } from './types.js';

export const DATA_UPSERT: UpsertSpec = {
  table: 'data_objects',
  columns: [
    'account_id',
    'remote_id',
    'connector',
    'resource_name',
    'uri',
    'metadata',
    'last_synced_at',
    'last_run_id',
  ],
  conflict: ['account_id', 'remote_id'],
  // Not `connector`: an account's connector never changes, and re-writing the same value would
  // still rewrite the row's entry in the connector index (a page per scattered update).
  update: ['resource_name', 'uri', 'metadata', 'last_synced_at', 'last_run_id'],
  pgTypes: ['bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint'],
};

/** Checks a page before it is written: every object needs a non-empty string `remoteId`. */
export function pageRows(
  account: { id: number; connector: string },
  objects: readonly DataObjectInput[],
  runId: number | null,
  now: string,
): unknown[][] {
  const rows = new Array<unknown[]>(objects.length);
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i]!;
    if (typeof o.remoteId !== 'string' || o.remoteId === '') {
      throw new PageRejectedError(
        `object ${i + 1} of the page has no remote id; every data object needs a non-empty remoteId (the page was not stored)`,
      );
    }
    rows[i] = [
      account.id,
      o.remoteId,
      account.connector,
      o.resourceName ?? '',
      o.uri ?? '',
      o.metadata ?? '',
      now,
      runId,
    ];
  }
  return rows;
}

/** Upserts one page in the caller's transaction (or its own). Returns the number of objects. */
export async function upsertPage(
  db: Db,
  account: { id: number; connector: string },
  objects: readonly DataObjectInput[],
  runId: number | null = null,
): Promise<number> {
  const rows = pageRows(account, objects, runId, new Date().toISOString());
  if (rows.length) await db.upsertMany(DATA_UPSERT, rows);
  return rows.length;
}

/**
 * c1-core's `Clean`: forgets the account's objects this run has not (yet) upserted; with
 * `resource`, only objects of that resource name (an Airbyte full-refresh stream).
 */
export async function cleanAccount(db: Db, accountId: number, runId: number, resource?: string): Promise<number> {
  if (resource !== undefined)
    return db.exec(
      'DELETE FROM data_objects WHERE account_id = ? AND resource_name = ? AND (last_run_id IS NULL OR last_run_id <> ?)',
      [accountId, resource, runId],
    );
  return db.exec('DELETE FROM data_objects WHERE account_id = ? AND (last_run_id IS NULL OR last_run_id <> ?)', [
    accountId,
    runId,
  ]);
}

export interface DataQuery {
  accountIds?: number[];
  connector?: string;
  /** Case-insensitive substring of remote id, resource name, URI, metadata or notes. */
  search?: string;
  /** 1-based. */
  page?: number;
  pageSize?: number;
  /** Sort key (default `synced`: the latest run's objects first); `ascending` flips it. */
  order?: DataOrder;
  ascending?: boolean;
}

/** Sort keys and their columns; `synced` is by last run (see the migration that indexes it). */
export const DATA_ORDERS = {
  synced: 'last_run_id',
  name: 'resource_name',
  'remote-id': 'remote_id',
  id: 'id',
  connector: 'connector',
} as const;
export type DataOrder = keyof typeof DATA_ORDERS;

export interface DataPage {
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  items: DataObject[];
}

type DataRow = {
  id: number;
  account_id: number;
  remote_id: string;
  connector: string;
  resource_name: string;
  uri: string;
  metadata: string;
  notes: string;
  last_synced_at: string;
};

const fromRow = (r: DataRow): DataObject => ({
  id: Number(r.id),
  accountId: Number(r.account_id),
  remoteId: r.remote_id,
  connector: r.connector,
  resourceName: r.resource_name,
  uri: r.uri,
  metadata: r.metadata,
  notes: r.notes,
  lastSyncedAt: r.last_synced_at,
});

/** LIKE pattern for a literal substring (escapes `%`, `_` and the escape itself). */
function likeSubstring(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Newest first, 50 a page by default (c1-core's data page), or by `order`. */
export async function listData(db: Db, q: DataQuery = {}): Promise<DataPage> {
  const pageSize = q.pageSize ?? 50;
  const page = q.page ?? 1;
  if (!Number.isInteger(page) || page < 1)
    throw new InvalidArgumentError(`page must be a whole number from 1 (got ${page})`);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000)
    throw new InvalidArgumentError(`page size must be 1-10000 (got ${pageSize})`);
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.accountIds?.length) {
    where.push(`account_id IN (${q.accountIds.map(() => '?').join(', ')})`);
    params.push(...q.accountIds);
  }
  if (q.connector) {
    where.push('connector = ?');
    params.push(q.connector);
  }
  if (q.search) {
    const cols = ['remote_id', 'resource_name', 'uri', 'metadata', 'notes'];
    where.push(`(${cols.map((c) => `LOWER(${c}) LIKE ? ESCAPE '\\'`).join(' OR ')})`);
    const pattern = likeSubstring(q.search);
    params.push(...cols.map(() => pattern));
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const order = q.order ?? 'synced';
  if (!(order in DATA_ORDERS))
    throw new InvalidArgumentError(
      `order must be one of ${Object.keys(DATA_ORDERS).join(', ')} (got ${JSON.stringify(order)})`,
    );
  const column = DATA_ORDERS[order];
  const direction = q.ascending ? 'ASC' : 'DESC';
  // Objects no run wrote (last_run_id NULL) count as the oldest, on both backends.
  const nulls = order === 'synced' ? (q.ascending ? ' NULLS FIRST' : ' NULLS LAST') : '';
  const [count] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM data_objects ${clause}`, params);
  const total = Number(count?.n ?? 0);
  const rows = await db.query<DataRow>(
    `SELECT id, account_id, remote_id, connector, resource_name, uri, metadata, notes, last_synced_at FROM data_objects ${clause}
     ORDER BY ${column} ${direction}${nulls}, id ${direction} LIMIT ? OFFSET ?`,
    [...params, pageSize, (page - 1) * pageSize],
  );
  return { total, page, pageSize, pages: Math.max(1, Math.ceil(total / pageSize)), items: rows.map(fromRow) };
}

export async function getDataObject(db: Db, id: number): Promise<DataObject> {
  const [row] = await db.query<DataRow>(
    'SELECT id, account_id, remote_id, connector, resource_name, uri, metadata, notes, last_synced_at FROM data_objects WHERE id = ?',
    [id],
  );
  if (!row) throw new SwitchboardError('NOT_FOUND', `no data object with id ${id} (see \`switchboard data list\`)`);
  return fromRow(row);
}

/** Sets a data object's notes; syncs never overwrite them. */
export async function setNote(db: Db, id: number, notes: string): Promise<DataObject> {
  const n = await db.exec('UPDATE data_objects SET notes = ? WHERE id = ?', [notes, id]);
  if (n === 0) throw new SwitchboardError('NOT_FOUND', `no data object with id ${id} (see \`switchboard data list\`)`);
  return getDataObject(db, id);
}
