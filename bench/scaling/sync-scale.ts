/**
 * Sync ingestion at 10k, 100k and 1M objects into one SQLite store (WAL, 1000 objects a page),
 * with sync-ingest's machinery (bench/sync-ingest: its rows and its in-process limit): the store's
 * own path (`transaction(upsertMany)` per page, what the sync runner does for each connector page)
 * and the limit (a prepared-statement loop in one transaction per page), first ingest into an
 * empty account. The connector transport on top is measured by sync-ingest itself (a constant
 * factor per object, ~0.8x of the limit there).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../src/core/test/support.js';
import { openSync } from '../../src/sync/open.js';
import { DATA_UPSERT, pageRows } from '../../src/sync/data.js';
import { sqliteLimit } from '../sync-ingest/limits.js';
import { pageObjects } from '../sync-ingest/rows.js';
import { load } from './proc.js';

export interface SyncPoint {
  objects: number;
  storeObjectsPerSec: number;
  limitObjectsPerSec: number;
  load: number;
}

const PER_PAGE = 1000;

async function account(
  home: string,
  name: string,
): Promise<{ database: string; id: number; close(): Promise<void>; api: Awaited<ReturnType<typeof openSync>> }> {
  const database = join(home, `${name}.db`);
  const api = await openSync({ home, database });
  const folder = join(home, `src-${name}`);
  mkdirSync(folder, { recursive: true });
  await api.installConnector(JSON.stringify({ name, source: 'Local', uri: folder, command: 'true' }));
  const acc = await api.addAccount({ connector: name, name: 'bench', options: '{}' });
  return { database, id: acc.id, api, close: () => api.close() };
}

export async function syncPoint(objects: number): Promise<SyncPoint> {
  const home = await tempDir('sb-bench-scaling-sync-');
  try {
    const pages = Math.ceil(objects / PER_PAGE);
    const store = await account(home.path, `store${objects}`);
    const t0 = performance.now();
    for (let p = 0; p < pages; p++) {
      const rows = pageRows(
        { id: store.id, connector: `store${objects}` },
        pageObjects(p, PER_PAGE, 'store'),
        null,
        new Date().toISOString(),
      );
      await store.api.store.transaction((tx) => tx.upsertMany(DATA_UPSERT, rows));
    }
    const storeMs = performance.now() - t0;
    await store.close();
    const lim = await account(home.path, `limit${objects}`);
    await lim.close();
    const limitMs = sqliteLimit(lim.database, lim.id, pages, PER_PAGE);
    return {
      objects: pages * PER_PAGE,
      storeObjectsPerSec: Math.round((pages * PER_PAGE) / (storeMs / 1000)),
      limitObjectsPerSec: Math.round((pages * PER_PAGE) / (limitMs / 1000)),
      load: load(),
    };
  } finally {
    await home.cleanup();
  }
}
