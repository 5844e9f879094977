import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toNumberedPlaceholders } from './dialect.js';
import { openStore } from './open.js';
import { BACKENDS, testStore, type TestStore } from './test/test-store.js';
import type { Db, Migration } from './types.js';

void test('placeholders: ? becomes $n outside strings, identifiers and comments', () => {
  assert.equal(
    toNumberedPlaceholders(`SELECT ?, '?', "a?" -- ?\n, ? /* ? */ , ?`),
    `SELECT $1, '?', "a?" -- ?\n, $2 /* ? */ , $3`,
  );
  assert.equal(toNumberedPlaceholders(`SELECT 'it''s ?' , ?`), `SELECT 'it''s ?' , $1`);
});

const items = (db: Db): Migration[] => [
  {
    name: 'items',
    up: `CREATE TABLE t_parent (id ${db.dialect.autoId}, name TEXT NOT NULL UNIQUE);
         CREATE TABLE t_item (id ${db.dialect.autoId}, parent_id BIGINT NOT NULL REFERENCES t_parent(id) ON DELETE CASCADE,
           key TEXT NOT NULL, value TEXT, note TEXT, UNIQUE (parent_id, key));`,
  },
];

const ITEM = {
  table: 't_item',
  columns: ['parent_id', 'key', 'value'],
  conflict: ['parent_id', 'key'],
  update: ['value'],
} as const;

for (const backend of BACKENDS) {
  void describe(`store on ${backend}`, () => {
    const opened: TestStore[] = [];
    after(async () => {
      for (const s of opened) await s.cleanup();
    });

    async function fresh(t: Parameters<typeof testStore>[0]): Promise<TestStore | undefined> {
      const s = await testStore(t, backend);
      if (s) opened.push(s);
      return s;
    }

    void test('migrations apply once per namespace and are idempotent', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      assert.equal(await store.migrate('alpha', items(store)), 1);
      assert.equal(await store.migrate('alpha', items(store)), 0);
      // A second namespace is independent; appending a migration applies only the new one.
      assert.equal(await store.migrate('beta', [{ name: 'b1', up: 'CREATE TABLE t_beta (x INTEGER)' }]), 1);
      assert.equal(
        await store.migrate('beta', [
          { name: 'b1', up: 'CREATE TABLE t_beta (x INTEGER)' },
          {
            name: 'b2',
            up: async (db) => {
              await db.exec('ALTER TABLE t_beta ADD COLUMN y TEXT');
            },
          },
        ]),
        1,
      );
      const rows = await store.query<{ namespace: string; version: number; name: string }>(
        'SELECT namespace, version, name FROM schema_migrations ORDER BY namespace, version',
      );
      assert.deepEqual(
        rows.map((r) => [r.namespace, r.version, r.name]),
        [
          ['alpha', 1, 'items'],
          ['beta', 1, 'b1'],
          ['beta', 2, 'b2'],
        ],
      );
      // Reopening the same data (another process) sees the migrations as applied.
      const again = await openStore({ url: s.url });
      try {
        assert.equal(await again.migrate('alpha', items(again)), 0);
      } finally {
        await again.close();
      }
    });

    void test('a failing migration rolls back entirely and names itself', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      await s.store.migrate('alpha', items(s.store));
      await assert.rejects(
        s.store.migrate('gamma', [
          { name: 'ok', up: 'CREATE TABLE t_ok (x INTEGER)' },
          { name: 'broken', up: 'CREATE TABLE t_bad (' },
        ]),
        /gamma #2 \(broken\) failed/,
      );
      assert.equal(
        (await s.store.query('SELECT version FROM schema_migrations WHERE namespace = ?', ['gamma'])).length,
        0,
      );
      assert.equal(await s.store.migrate('gamma', [{ name: 'ok', up: 'CREATE TABLE t_ok (x INTEGER)' }]), 1);
    });

    void test('concurrent migrations from two connections apply each version once', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const other = await openStore({ url: s.url });
      try {
        const counts = await Promise.all([
          s.store.migrate('race', items(s.store)),
          other.migrate('race', items(other)),
        ]);
        assert.deepEqual(counts.sort(), [0, 1]);
      } finally {
        await other.close();
      }
    });

    void test('query, exec, RETURNING ids, integers as numbers, JSON values', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      await store.migrate('alpha', items(store));
      const [p] = await store.query<{ id: number }>('INSERT INTO t_parent (name) VALUES (?) RETURNING id', ['p']);
      assert.equal(typeof p!.id, 'number');
      assert.equal(
        await store.exec('INSERT INTO t_item (parent_id, key, value) VALUES (?, ?, ?)', [p!.id, 'k', { a: 1 }]),
        1,
      );
      assert.equal(
        await store.exec('INSERT INTO t_item (parent_id, key, value) VALUES (?, ?, ?)', [p!.id, 'b', null]),
        1,
      );
      const rows = await store.query<{ key: string; value: string }>('SELECT key, value FROM t_item ORDER BY key');
      assert.deepEqual(rows, [
        { key: 'b', value: null },
        { key: 'k', value: '{"a":1}' },
      ]);
      const [c] = await store.query<{ n: number }>('SELECT COUNT(*) AS n FROM t_item WHERE parent_id = ?', [p!.id]);
      assert.equal(c!.n, 2);
      assert.equal(await store.exec('UPDATE t_item SET note = ? WHERE parent_id = ?', ['x', p!.id]), 2);
    });

    void test('upsertMany inserts, updates only the listed columns, keeps the last duplicate', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      await store.migrate('alpha', items(store));
      const [p] = await store.query<{ id: number }>('INSERT INTO t_parent (name) VALUES (?) RETURNING id', ['p']);
      const rows = Array.from({ length: 2500 }, (_, i) => [p!.id, `k${i}`, `v${i}`]);
      await store.upsertMany(ITEM, rows);
      await store.exec('UPDATE t_item SET note = ? WHERE key = ?', ['keep me', 'k7']);
      await store.upsertMany(ITEM, [
        [p!.id, 'k7', 'new'],
        [p!.id, 'k8', 'first'],
        [p!.id, 'k8', 'last'],
      ]);
      const got = await store.query<{ key: string; value: string; note: string | null }>(
        'SELECT key, value, note FROM t_item WHERE key IN (?, ?, ?) ORDER BY key',
        ['k7', 'k8', 'k9'],
      );
      assert.deepEqual(got, [
        { key: 'k7', value: 'new', note: 'keep me' },
        { key: 'k8', value: 'last', note: null },
        { key: 'k9', value: 'v9', note: null },
      ]);
      const [c] = await store.query<{ n: number }>('SELECT COUNT(*) AS n FROM t_item');
      assert.equal(c!.n, 2500);
    });

    void test('upsertMany with pgTypes (unnest on PostgreSQL) gives the same result', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      await store.migrate('alpha', items(store));
      const [p] = await store.query<{ id: number }>('INSERT INTO t_parent (name) VALUES (?) RETURNING id', ['p']);
      const typed = { ...ITEM, pgTypes: ['bigint', 'text', 'text'] };
      await store.upsertMany(typed, [
        [p!.id, 'a', 'x'],
        [p!.id, 'b', null],
        [p!.id, "it's", '{"q":"\\"}'],
      ]);
      await store.exec('UPDATE t_item SET note = ? WHERE key = ?', ['kept', 'a']);
      await store.upsertMany(typed, [
        [p!.id, 'a', 'y'],
        [p!.id, 'a', 'z'],
        [p!.id, 'c', 'new'],
      ]);
      await store.upsertMany(typed, []);
      const got = await store.query<{ key: string; value: string | null; note: string | null }>(
        'SELECT key, value, note FROM t_item ORDER BY key',
      );
      assert.deepEqual(got, [
        { key: 'a', value: 'z', note: 'kept' },
        { key: 'b', value: null, note: null },
        { key: 'c', value: 'new', note: null },
        { key: "it's", value: '{"q":"\\"}', note: null },
      ]);
      await assert.rejects(
        store.upsertMany({ ...ITEM, pgTypes: ['bigint; drop', 'text', 'text'] }, [[p!.id, 'a', 'x']]),
        /pgTypes/,
      );
      await assert.rejects(
        store.transaction((tx) => tx.upsertMany({ ...ITEM, conflict: ['nope'] }, [[p!.id, 'a', 'x']])),
        /conflict columns/,
      );
    });

    void test('a failed upsertMany changes nothing', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      await store.migrate('alpha', items(store));
      const [p] = await store.query<{ id: number }>('INSERT INTO t_parent (name) VALUES (?) RETURNING id', ['p']);
      await assert.rejects(
        store.upsertMany(ITEM, [
          [p!.id, 'a', 'x'],
          [p!.id, null, 'y'],
        ]),
      );
      assert.equal((await store.query('SELECT key FROM t_item')).length, 0);
    });

    void test('transactions commit, roll back, nest as savepoints, and cascade deletes', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      await store.migrate('alpha', items(store));
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.exec('INSERT INTO t_parent (name) VALUES (?)', ['gone']);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await store.query('SELECT id FROM t_parent')).length, 0);
      const id = await store.transaction(async (tx) => {
        const [p] = await tx.query<{ id: number }>('INSERT INTO t_parent (name) VALUES (?) RETURNING id', ['kept']);
        await assert.rejects(
          tx.transaction(async (inner) => {
            await inner.exec('INSERT INTO t_item (parent_id, key) VALUES (?, ?)', [p!.id, 'inner']);
            throw new Error('inner');
          }),
        );
        await tx.upsertMany(ITEM, [
          [p!.id, 'a', '1'],
          [p!.id, 'b', '2'],
        ]);
        return p!.id;
      });
      assert.deepEqual(
        (await store.query<{ key: string }>('SELECT key FROM t_item ORDER BY key')).map((r) => r.key),
        ['a', 'b'],
      );
      await store.exec('DELETE FROM t_parent WHERE id = ?', [id]);
      assert.equal((await store.query('SELECT key FROM t_item')).length, 0);
    });

    void test('statements outside a transaction never interleave with it', async (t) => {
      const s = await fresh(t);
      if (!s) return;
      const { store } = s;
      await store.migrate('alpha', items(store));
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const tx = store.transaction(async (db) => {
        await db.exec('INSERT INTO t_parent (name) VALUES (?)', ['in-tx']);
        await gate;
        throw new Error('rolled back');
      });
      // This read cannot see the uncommitted row, on either backend.
      const read = store.query<{ name: string }>('SELECT name FROM t_parent');
      setImmediate(release);
      await assert.rejects(tx, /rolled back/);
      assert.deepEqual(await read, []);
    });
  });
}

void test('a fresh SQLite store is private: its directory 0700, the database and its -wal and -shm 0600', async () => {
  const { tempDir } = await import('../core/test/support.js');
  const { statSync } = await import('node:fs');
  const dir = await tempDir('switchboard-store-modes-');
  after(dir.cleanup);
  const home = `${dir.path}/home`;
  const store = await openStore({ home });
  try {
    await store.query('CREATE TABLE secrets (value TEXT)');
    await store.query('INSERT INTO secrets VALUES (?)', ['an API key']);
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    assert.equal(mode(home), '700');
    for (const file of ['switchboard.db', 'switchboard.db-wal', 'switchboard.db-shm'])
      assert.equal(mode(`${home}/${file}`), '600', file);
  } finally {
    await store.close();
  }
});
