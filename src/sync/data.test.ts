import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, testStore, type TestStore } from '../store/test/test-store.js';
import { addAccount, removeAccount, resolveAccount, updateAccount } from './accounts.js';
import { insertConnector } from './connectors-db.js';
import { cleanAccount, listData, setNote, upsertPage } from './data.js';
import { countPage, finishRun, getRun, startRun, STALE_MS } from './runs.js';
import { migrateSync } from './schema.js';

const manifest = (name: string) => ({
  name,
  description: '',
  source: 'Local' as const,
  uri: '/x',
  install_command: '',
  update_command: '',
  command: 'true',
});

for (const backend of BACKENDS) {
  void describe(`sync tables on ${backend}`, () => {
    const opened: TestStore[] = [];
    after(async () => {
      for (const s of opened) await s.cleanup();
    });

    async function fresh(t: Parameters<typeof testStore>[0]) {
      const s = await testStore(t, backend);
      if (!s) return undefined;
      opened.push(s);
      await migrateSync(s.store);
      await migrateSync(s.store); // idempotent
      await insertConnector(s.store, manifest('files'));
      await insertConnector(s.store, manifest('mail'));
      return s.store;
    }

    void test('accounts: options must be JSON; names unique per connector; resolved by id, name or connector/name', async (t) => {
      const db = await fresh(t);
      if (!db) return;
      await assert.rejects(
        addAccount(db, { connector: 'files', name: 'a', options: '{path: 1}' }),
        /account options must be valid JSON/,
      );
      await assert.rejects(
        addAccount(db, { connector: 'nope', name: 'a', options: '{}' }),
        /no connector named "nope" is installed \(installed: files, mail\)/,
      );
      const a = await addAccount(db, { connector: 'files', name: 'work', options: ' { "path" : "/tmp" } ' });
      assert.equal(a.options, '{"path":"/tmp"}');
      await assert.rejects(
        addAccount(db, { connector: 'files', name: 'work', options: '{}' }),
        /has an account named "work" already/,
      );
      const b = await addAccount(db, { connector: 'mail', name: 'work', options: '{}' });
      assert.equal((await resolveAccount(db, String(b.id))).id, b.id);
      assert.equal((await resolveAccount(db, 'files/work')).id, a.id);
      await assert.rejects(resolveAccount(db, 'work'), /names accounts of several connectors/);
      await assert.rejects(resolveAccount(db, 'nobody'), /no account "nobody"/);
      const changed = await updateAccount(db, 'files/work', { options: '{"path": "/srv"}', name: 'home' });
      assert.deepEqual([changed.id, changed.name, changed.options], [a.id, 'home', '{"path":"/srv"}']);
      await assert.rejects(updateAccount(db, String(a.id), { options: 'nope' }), /must be valid JSON/);
      await assert.rejects(updateAccount(db, String(a.id), {}), /nothing to change/);
      await addAccount(db, { connector: 'files', name: 'spare' });
      await assert.rejects(updateAccount(db, 'spare', { name: 'home' }), /has an account named "home" already/);
    });

    void test('a re-synced page updates objects, keeps notes, adds no duplicates; removing the account cascades', async (t) => {
      const db = await fresh(t);
      if (!db) return;
      const a = await addAccount(db, { connector: 'files', name: 'a', options: '{}' });
      const page = Array.from({ length: 120 }, (_, i) => ({
        remoteId: `r${i}`,
        resourceName: `file ${i}`,
        uri: `file:///f${i}`,
        metadata: JSON.stringify({ size: i }),
      }));
      assert.equal(await upsertPage(db, a, page), 120);
      const first = await listData(db, { search: 'FILE 7', pageSize: 100 });
      assert.deepEqual(first.items.map((o) => o.remoteId).sort(), [
        'r7',
        'r70',
        'r71',
        'r72',
        'r73',
        'r74',
        'r75',
        'r76',
        'r77',
        'r78',
        'r79',
      ]);
      const r7 = first.items.find((o) => o.remoteId === 'r7')!;
      await setNote(db, r7.id, 'important');
      await upsertPage(db, a, [
        { remoteId: 'r7', resourceName: 'renamed', uri: 'u', metadata: '{}' },
        { remoteId: 'r7', resourceName: 'renamed twice', uri: 'u', metadata: '{}' },
      ]);
      const after7 = await listData(db, { search: 'important' });
      assert.equal(after7.total, 1);
      assert.equal(after7.items[0]!.id, r7.id);
      assert.equal(after7.items[0]!.resourceName, 'renamed twice');
      assert.equal(after7.items[0]!.notes, 'important');
      assert.equal((await listData(db, { accountIds: [a.id] })).total, 120);
      await assert.rejects(
        upsertPage(db, a, [{ remoteId: 'ok' }, { remoteId: '' }]),
        /object 2 of the page has no remote id/,
      );
      assert.equal((await listData(db, { search: 'ok' })).total, 0);
      await assert.rejects(setNote(db, 999999, 'x'), /no data object with id 999999/);
      await removeAccount(db, String(a.id));
      assert.equal((await listData(db)).total, 0);
    });

    void test('data list filters by account and connector, searches literally, pages by 50', async (t) => {
      const db = await fresh(t);
      if (!db) return;
      const a = await addAccount(db, { connector: 'files', name: 'a', options: '{}' });
      const m = await addAccount(db, { connector: 'mail', name: 'm', options: '{}' });
      await upsertPage(
        db,
        a,
        Array.from({ length: 75 }, (_, i) => ({ remoteId: `a${i}`, resourceName: i === 3 ? '100%_done' : `doc ${i}` })),
      );
      await upsertPage(db, m, [{ remoteId: 'm1', resourceName: 'hello', metadata: '{"from":"x"}' }]);
      const p1 = await listData(db, { connector: 'files' });
      assert.equal(p1.total, 75);
      assert.equal(p1.items.length, 50);
      assert.equal(p1.pages, 2);
      assert.equal((await listData(db, { connector: 'files', page: 2 })).items.length, 25);
      assert.equal((await listData(db, { accountIds: [m.id] })).items[0]!.remoteId, 'm1');
      assert.equal((await listData(db, { search: '%_' })).items[0]!.remoteId, 'a3');
      assert.equal((await listData(db, { search: '"from"' })).total, 1);
      await assert.rejects(listData(db, { page: 0 }), /page must be a whole number/);
      const byName = await listData(db, { connector: 'files', order: 'remote-id', ascending: true, pageSize: 3 });
      assert.deepEqual(
        byName.items.map((o) => o.remoteId),
        ['a0', 'a1', 'a10'],
      );
      assert.equal((await listData(db, { order: 'remote-id', pageSize: 1 })).items[0]!.remoteId, 'm1');
      await assert.rejects(listData(db, { order: 'x; DROP TABLE data_objects' as never }), /order must be one of/);
    });

    void test('data list by sync: the latest run first, then older runs, objects no run wrote last', async (t) => {
      const db = await fresh(t);
      if (!db) return;
      const a = await addAccount(db, { connector: 'files', name: 'a', options: '{}' });
      const m = await addAccount(db, { connector: 'mail', name: 'm', options: '{}' });
      await upsertPage(db, a, [{ remoteId: 'loose' }]);
      const first = await startRun(db, a);
      await upsertPage(db, a, [{ remoteId: 'a1' }, { remoteId: 'a2' }], first.id);
      await finishRun(db, first, { success: true });
      const second = await startRun(db, m);
      await upsertPage(db, m, [{ remoteId: 'm1' }], second.id);
      await finishRun(db, second, { success: true });
      const third = await startRun(db, a);
      // a1 synced again: it moves up to the latest run, ahead of m1 and a2.
      await upsertPage(db, a, [{ remoteId: 'a1' }], third.id);
      await finishRun(db, third, { success: true });
      const ids = async (ascending: boolean) => (await listData(db, { ascending })).items.map((o) => o.remoteId);
      assert.deepEqual(await ids(false), ['a1', 'm1', 'a2', 'loose']);
      assert.deepEqual(await ids(true), ['loose', 'a2', 'm1', 'a1']);
    });

    void test('runs: one live run per account; pages counted; clean forgets what the run did not upsert; stale leases are taken over', async (t) => {
      const db = await fresh(t);
      if (!db) return;
      const a = await addAccount(db, { connector: 'files', name: 'a', options: '{}' });
      await upsertPage(db, a, [{ remoteId: 'old1' }, { remoteId: 'keep' }]);
      const results = await Promise.allSettled([startRun(db, a), startRun(db, a)]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1);
      assert.equal(refused.length, 1);
      assert.match(String(refused[0]!.reason), /is being synced already/);
      const run = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof startRun>>>).value;
      await db.transaction(async (tx) => {
        await upsertPage(tx, a, [{ remoteId: 'keep' }, { remoteId: 'new' }], run.id);
        await countPage(tx, a.id, run.id, 2);
      });
      assert.equal(await cleanAccount(db, a.id, run.id), 1);
      assert.deepEqual((await listData(db)).items.map((o) => o.remoteId).sort(), ['keep', 'new']);
      const done = await finishRun(db, run, { success: true, metadata: 'cursor=2' });
      assert.equal(done.success, true);
      assert.equal(done.objects, 2);
      assert.equal(done.pages, 1);
      assert.equal(done.metadata, 'cursor=2');
      assert.ok(done.finishedAt);

      // A run whose process died: its lease goes stale and the next start takes it over.
      const dead = await startRun(db, a);
      await db.exec('UPDATE sync_locks SET heartbeat_at = ? WHERE account_id = ?', [
        new Date(Date.now() - STALE_MS - 1000).toISOString(),
        a.id,
      ]);
      const next = await startRun(db, a);
      const abandoned = await getRun(db, dead.id);
      assert.equal(abandoned.success, false);
      assert.match(abandoned.error ?? '', /abandoned/);
      await assert.rejects(
        db.transaction((tx) => countPage(tx, a.id, dead.id, 1)),
        /lost its lease/,
      );
      await finishRun(db, next, { success: false, error: 'x' });
    });
  });
}
