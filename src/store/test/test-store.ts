/**
 * Test helper: a fresh store on either backend. PostgreSQL gets a random schema, dropped by
 * `cleanup`; SQLite a file in a temp dir. Returns undefined when the test was skipped.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { needService, SERVICES, tempDir } from '../../core/test/support.js';
import { openStore } from '../open.js';
import type { DialectName, Store } from '../types.js';

export const BACKENDS: readonly DialectName[] = ['sqlite', 'postgres'];

export interface TestStore {
  store: Store;
  /** What to pass to `--database` (and `openStore({ url })`) to reach the same data. */
  url: string;
  home: string;
  cleanup: () => Promise<void>;
}

export async function testStore(t: TestContext, backend: DialectName): Promise<TestStore | undefined> {
  const home = await tempDir('switchboard-store-');
  if (backend === 'sqlite') {
    const url = `${home.path}/switchboard.db`;
    const store = await openStore({ url });
    return {
      store,
      url,
      home: home.path,
      cleanup: async () => {
        await store.close();
        await home.cleanup();
      },
    };
  }
  if (!(await needService(t, 'postgres'))) {
    await home.cleanup();
    return undefined;
  }
  const schema = `sb_test_${randomBytes(6).toString('hex')}`;
  const url = `${SERVICES.postgres.url}?schema=${schema}`;
  const store = await openStore({ url });
  return {
    store,
    url,
    home: home.path,
    cleanup: async () => {
      await store.close();
      const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
      await home.cleanup();
    },
  };
}
