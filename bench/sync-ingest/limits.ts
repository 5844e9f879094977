/**
 * The in-process limits: the same rows upserted by this process straight into the database, one
 * transaction per page: better-sqlite3 with a prepared statement loop; pg with one multi-row
 * INSERT ... ON CONFLICT per page. Same table (the sync migrations), same conflict rule.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { pageObjects } from './rows.js';

const COLUMNS = [
  'account_id',
  'remote_id',
  'connector',
  'resource_name',
  'uri',
  'metadata',
  'last_synced_at',
  'last_run_id',
];
const UPDATE = ['connector', 'resource_name', 'uri', 'metadata', 'last_synced_at', 'last_run_id'];
const ON_CONFLICT = `ON CONFLICT (account_id, remote_id) DO UPDATE SET ${UPDATE.map((c) => `${c} = excluded.${c}`).join(', ')}`;

function row(
  accountId: number,
  o: { remoteId: string; resourceName: string; uri: string; metadata: string },
  now: string,
): unknown[] {
  return [accountId, o.remoteId, 'bench', o.resourceName, o.uri, o.metadata, now, null];
}

/** Returns elapsed ms for `pages` pages of `perPage` objects. */
export function sqliteLimit(file: string, accountId: number, pages: number, perPage: number): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const stmt = db.prepare(
    `INSERT INTO data_objects (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ${ON_CONFLICT}`,
  );
  const writePage = db.transaction((rows: unknown[][]) => {
    for (const r of rows) stmt.run(r);
  });
  const t0 = performance.now();
  for (let p = 0; p < pages; p++) {
    const now = new Date().toISOString();
    writePage(pageObjects(p, perPage, 'limit').map((o) => row(accountId, o, now)));
  }
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

export async function postgresLimit(
  url: string,
  schema: string,
  accountId: number,
  pages: number,
  perPage: number,
): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`SET search_path TO "${schema}"`);
  const t0 = performance.now();
  for (let p = 0; p < pages; p++) {
    const now = new Date().toISOString();
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const o of pageObjects(p, perPage, 'limit')) {
      const r = row(accountId, o, now);
      tuples.push(`(${r.map((_, i) => `$${params.length + i + 1}`).join(', ')})`);
      params.push(...r);
    }
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO data_objects (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ${ON_CONFLICT}`,
      params,
    );
    await client.query('COMMIT');
  }
  const ms = performance.now() - t0;
  await client.end();
  return ms;
}
