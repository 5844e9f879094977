// Airbyte-protocol sources under the sync runner: a plain Python source (JSON lines, standard
// library only) and one written with the published faros-airbyte-cdk.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BACKENDS, testStore, type TestStore } from '../../store/test/test-store.js';
import { openSync, type SyncApi } from '../open.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const quiet = { onLog: () => {} };

function python(): string | undefined {
  for (const p of [process.env.PYTHON, 'python3'].filter(Boolean) as string[]) {
    try {
      execFileSync(p, ['-c', 'pass']);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

const py = python();
const pythonManifest = JSON.stringify({
  name: 'pyitems',
  protocol: 'airbyte',
  source: 'Local',
  uri: `${fixtures}source.py`,
  command: `${py ?? 'python3'} source.py`,
});
const farosManifest = JSON.stringify({
  name: 'faros',
  protocol: 'airbyte',
  source: 'Local',
  // Run in place: the source resolves faros-airbyte-cdk from this package.
  uri: `${fixtures}source.py`,
  command: `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${fixtures}faros-source.ts"`,
});

for (const backend of BACKENDS) {
  void describe(`an Airbyte source in Python on ${backend}`, () => {
    const opened: { s: TestStore; sync: SyncApi }[] = [];
    after(async () => {
      for (const { s, sync } of opened) {
        await sync.close();
        await s.cleanup();
      }
    });

    void test('spec at install, options checked, records upserted by key, state kept, incremental re-sync, errors from TRACE', async (t) => {
      if (!py) {
        if (process.env.CI === 'true') throw new Error('python3 is missing (CI=true)');
        t.skip('python3 is not installed');
        return;
      }
      const s = await testStore(t, backend);
      if (!s) return;
      const sync = await openSync({ store: s.store, home: s.home });
      opened.push({ s, sync });
      const c = await sync.installConnector(pythonManifest);
      assert.equal(c.protocol, 'airbyte');
      assert.deepEqual((c.optionsSchema as { required: string[] }).required, ['count']);

      await assert.rejects(
        sync.addAccount({ connector: 'pyitems', name: 'x', options: '{"count": "many"}' }),
        /options do not match connector "pyitems"'s options schema: field "count" must be integer/,
      );
      await assert.rejects(
        sync.addAccount({ connector: 'pyitems', name: 'x', options: '{"count": 5000000}', check: true }),
        /connector "pyitems" refused these options: count is too large/,
      );
      await sync.addAccount({ connector: 'pyitems', name: 'py', options: '{"count": 50}', check: true });
      const [first] = await sync.sync(['py'], quiet);
      assert.equal(first!.run!.success, true, first!.run!.error ?? '');
      assert.deepEqual([first!.run!.objects, first!.run!.checkpoints], [50, 1]);
      const page = await sync.listData({ accounts: ['py'], search: 'item 7"' });
      assert.equal(page.items[0]!.remoteId, 'items/7');
      assert.equal(page.items[0]!.resourceName, 'items');
      assert.deepEqual(JSON.parse(page.items[0]!.metadata), { id: 7, updated: 7, name: 'item 7' });
      const state = JSON.parse((await sync.resolveAccount('py')).state!) as unknown[];
      assert.deepEqual(state, [
        { type: 'STREAM', stream: { stream_descriptor: { name: 'items' }, stream_state: { updated: 50 } } },
      ]);

      // Five records changed at the source: only they come, the rest stay.
      await sync.updateAccount('py', { options: '{"count": 50, "bump": 100}' });
      const [second] = await sync.sync(['py'], quiet);
      assert.equal(second!.run!.success, true, second!.run!.error ?? '');
      assert.equal(second!.run!.objects, 5);
      assert.equal((await sync.listData({ accounts: ['py'] })).total, 50);
      const changed = await sync.listData({ accounts: ['py'], search: 'item 20"' });
      assert.equal((JSON.parse(changed.items[0]!.metadata) as { updated: number }).updated, 120);

      await sync.updateAccount('py', { options: '{"count": 50, "fail": true}' });
      const [failed] = await sync.sync(['py'], quiet);
      assert.equal(failed!.run!.success, false);
      assert.match(failed!.run!.error ?? '', /the source's read failed: the API said no/);
    });
  });
}

void test('a faros-airbyte-cdk source: check refuses a bad token, a crashed read resumes from its checkpoint, every record once', async (t) => {
  const s = await testStore(t, 'sqlite');
  if (!s) return;
  const sync = await openSync({ store: s.store, home: s.home });
  t.after(async () => {
    await sync.close();
    await s.cleanup();
  });
  const c = await sync.installConnector(farosManifest);
  assert.ok((c.optionsSchema as { properties: Record<string, unknown> }).properties.count);
  await assert.rejects(
    sync.addAccount({ connector: 'faros', name: 'f', options: '{"count": 3, "token": "bad"}', check: true }),
    /connector "faros" refused these options: the token was refused/,
  );
  await sync.addAccount({ connector: 'faros', name: 'f', options: '{"count": 30, "crashAfter": 12}', check: true });
  const [crashed] = await sync.sync(['f'], quiet);
  assert.equal(crashed!.run!.success, false);
  assert.match(crashed!.run!.error ?? '', /exited with code 7/);
  // Checkpoints after records 5 and 10: what came before the last one is stored.
  assert.equal(crashed!.run!.objects, 10);

  await sync.updateAccount('f', { options: '{"count": 30}' });
  const [resumed] = await sync.sync(['f'], quiet);
  assert.equal(resumed!.run!.success, true, resumed!.run!.error ?? '');
  assert.equal(resumed!.run!.objects, 20);
  const all = await sync.listData({ accounts: ['f'], pageSize: 100 });
  assert.equal(all.total, 30);
  assert.deepEqual(
    all.items.map((o) => o.remoteId).sort(),
    Array.from({ length: 30 }, (_, i) => `users/${i + 1}`).sort(),
  );

  await sync.updateAccount('f', { options: '{"count": 30, "bump": 50}' });
  const [incremental] = await sync.sync(['f'], quiet);
  assert.equal(incremental!.run!.objects, 3);
});
