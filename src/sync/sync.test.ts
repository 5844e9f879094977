import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS, testStore, type TestStore } from '../store/test/test-store.js';
import { openSync, type SyncApi } from './open.js';

const fixture = fileURLToPath(new URL('./test/fixtures/pages-connector.ts', import.meta.url));
// tsx by URL: the command runs in the connector's folder, where a bare `tsx` does not resolve.
const command = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${fixture}"`;

for (const backend of BACKENDS) {
  void describe(`sync runs on ${backend}`, () => {
    const opened: { s: TestStore; sync: SyncApi }[] = [];
    after(async () => {
      for (const { s, sync } of opened) {
        await sync.close();
        await s.cleanup();
      }
    });

    async function setup(t: Parameters<typeof testStore>[0]): Promise<SyncApi | undefined> {
      const s = await testStore(t, backend);
      if (!s) return undefined;
      const sync = await openSync({ store: s.store, home: s.home });
      opened.push({ s, sync });
      const readme = join(s.home, 'README.txt');
      await writeFile(readme, 'the pages connector');
      await sync.installConnector(JSON.stringify({ name: 'pages', source: 'Local', uri: readme, command }));
      return sync;
    }

    const quiet = { onLog: () => {} };

    void test('a sync stores every page, records the run, and a re-run adds no duplicates and keeps notes', async (t) => {
      const sync = await setup(t);
      if (!sync) return;
      const a = await sync.addAccount({
        connector: 'pages',
        name: 'a',
        options: JSON.stringify({ pages: 3, perPage: 10 }),
      });
      const seen: string[] = [];
      const [first] = await sync.sync(['a'], {
        ...quiet,
        onProgress: (p) => seen.push(`${p.phase}:${p.pages}:${p.objects}`),
      });
      assert.equal(first!.run!.success, true, first!.run!.error ?? '');
      assert.deepEqual([first!.run!.objects, first!.run!.pages, first!.run!.metadata], [30, 3, 'cursor:obj:3']);
      assert.deepEqual(seen, ['started:0:0', 'page:1:10', 'page:2:20', 'page:3:30', 'finished:3:30']);
      const page = await sync.listData({ search: 'obj-1-7' });
      assert.equal(page.total, 1);
      await sync.setNote(page.items[0]!.id, 'look at this');
      const [second] = await sync.sync([String(a.id)], quiet);
      assert.equal(second!.run!.success, true);
      assert.equal((await sync.listData({ accounts: ['a'] })).total, 30);
      const again = await sync.listData({ search: 'look at this' });
      assert.equal(again.items[0]!.remoteId, 'obj-1-7');
      assert.deepEqual(
        (await sync.listRuns({ account: 'a' })).map((r) => r.success),
        [true, true],
      );
    });

    void test('a connector that exits mid-sync: the run fails with its stderr tail, committed pages stay', async (t) => {
      const sync = await setup(t);
      if (!sync) return;
      await sync.addAccount({ connector: 'pages', name: 'dies', options: JSON.stringify({ pages: 5, exitBefore: 2 }) });
      const [o] = await sync.sync(['dies'], quiet);
      assert.equal(o!.run!.success, false);
      assert.match(o!.run!.error ?? '', /the source went away/);
      assert.deepEqual([o!.run!.pages, o!.run!.objects], [2, 20]);
      assert.ok(o!.run!.finishedAt);
      assert.equal((await sync.listData({ accounts: ['dies'] })).total, 20);
    });

    // Backend-independent runner paths run on SQLite only: each connector start costs seconds of tsx.
    const sqliteOnly = (name: string, fn: (t: TestContext) => Promise<void>) =>
      test(name, { skip: backend === 'sqlite' ? false : 'backend-independent: runs on SQLite only' }, fn);

    void sqliteOnly('a Sync error and a page without remote id are recorded as failed runs', async (t) => {
      const sync = await setup(t);
      if (!sync) return;
      await sync.addAccount({
        connector: 'pages',
        name: 'fails',
        options: JSON.stringify({ pages: 3, failBefore: 1 }),
      });
      await sync.addAccount({
        connector: 'pages',
        name: 'bad',
        options: JSON.stringify({ pages: 2, missingRemoteId: true }),
      });
      const outcomes = await sync.sync(['fails', 'bad'], quiet);
      const [fails, bad] = outcomes.map((o) => o.run!);
      assert.equal(fails!.success, false);
      assert.match(fails!.error ?? '', /503 on page 2/);
      assert.equal(fails!.objects, 10);
      assert.equal(bad!.success, false);
      assert.match(bad!.error ?? '', /remote ?id/i);
      assert.equal((await sync.listData({ accounts: ['bad'] })).total, 0);
    });

    void test('two syncs of one account at once: one runs, the other is refused; other accounts run in parallel', async (t) => {
      const sync = await setup(t);
      if (!sync) return;
      await sync.addAccount({ connector: 'pages', name: 'slow', options: JSON.stringify({ pages: 3, delayMs: 150 }) });
      await sync.addAccount({ connector: 'pages', name: 'other', options: JSON.stringify({ pages: 2, prefix: 'o' }) });
      const [x, y] = await Promise.all([
        sync.sync(['slow', 'other'], { ...quiet, concurrency: 2 }),
        sync.sync(['slow'], quiet),
      ]);
      const slowOutcomes = [x![0]!, y![0]!];
      assert.equal(slowOutcomes.filter((o) => o.run?.success).length, 1);
      const refused = slowOutcomes.find((o) => o.error)!;
      assert.equal(refused.error!.code, 'CONFLICT');
      assert.match(refused.error!.message, /is being synced already/);
      assert.equal(x![1]!.run!.success, true);
      assert.equal((await sync.listData({ accounts: ['slow'] })).total, 30);
      assert.equal((await sync.listRuns({ account: 'slow' })).length, 1);
    });

    void sqliteOnly(
      'a cancelled sync is recorded as such, keeps its committed pages and frees the account',
      async (t) => {
        const sync = await setup(t);
        if (!sync) return;
        await sync.addAccount({
          connector: 'pages',
          name: 'cancel',
          options: JSON.stringify({ pages: 50, perPage: 2, delayMs: 100 }),
        });
        const abort = new AbortController();
        const [o] = await sync.sync(['cancel'], {
          ...quiet,
          signal: abort.signal,
          onProgress: (p) => {
            if (p.phase === 'page' && p.pages === 2) abort.abort();
          },
        });
        assert.equal(o!.run!.success, false);
        assert.match(o!.run!.error ?? '', /CANCELLED/);
        assert.ok(o!.run!.pages >= 2 && o!.run!.pages < 50);
        assert.equal((await sync.listData({ accounts: ['cancel'] })).total, o!.run!.objects);
        await sync.store.exec('UPDATE accounts SET options = ? WHERE name = ?', [
          JSON.stringify({ pages: 1 }),
          'cancel',
        ]);
        const [again] = await sync.sync(['cancel'], quiet);
        assert.equal(again!.run!.success, true);
      },
    );

    void sqliteOnly('Clean forgets what the run did not send', async (t) => {
      const sync = await setup(t);
      if (!sync) return;
      const a = await sync.addAccount({
        connector: 'pages',
        name: 'c',
        options: JSON.stringify({ pages: 3, perPage: 2 }),
      });
      await sync.sync(['c'], quiet);
      assert.equal((await sync.listData({ accounts: ['c'] })).total, 6);
      await sync.store.exec('UPDATE accounts SET options = ? WHERE id = ?', [
        JSON.stringify({ pages: 1, perPage: 2, clean: true }),
        a.id,
      ]);
      const [o] = await sync.sync(['c'], quiet);
      assert.equal(o!.run!.success, true);
      assert.deepEqual((await sync.listData({ accounts: ['c'] })).items.map((d) => d.remoteId).sort(), [
        'obj-0-0',
        'obj-0-1',
      ]);
    });
  });
}
