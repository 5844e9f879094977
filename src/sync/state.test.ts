// State and checkpoints: a run that dies resumes from its last checkpoint; old connectors ignore state.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../core/test/support.js';
import { BACKENDS, testStore, type TestStore } from '../store/test/test-store.js';
import { buildGoProgram, needGo } from './test/go-build.js';
import { openSync, type SyncApi } from './open.js';
import { cli, pagesCommand } from './test/cli-helpers.js';

const quiet = { onLog: () => {} };

for (const backend of BACKENDS) {
  void describe(`state and checkpoints on ${backend}`, () => {
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
      await sync.installConnector(
        JSON.stringify({ name: 'pages', source: 'Local', uri: readme, command: pagesCommand }),
      );
      return sync;
    }

    void test('a run that dies resumes from its last checkpoint and ends with every object once; reset-state starts over', async (t) => {
      const sync = await setup(t);
      if (!sync) return;
      const base = { pages: 6, perPage: 10, checkpointEvery: 2 };
      await sync.addAccount({ connector: 'pages', name: 'cp', options: JSON.stringify({ ...base, exitBefore: 5 }) });
      const [dead] = await sync.sync(['cp'], quiet);
      assert.equal(dead!.run!.success, false);
      // Pages 0-3 landed (page 4 was in flight when it died); checkpoints after pages 2 and 4.
      assert.deepEqual([dead!.run!.objects, dead!.run!.checkpoints, dead!.run!.state], [40, 2, '{"page":4}']);
      assert.equal((await sync.resolveAccount('cp')).state, '{"page":4}');

      await sync.updateAccount('cp', { options: JSON.stringify(base) });
      const [resumed] = await sync.sync(['cp'], quiet);
      assert.equal(resumed!.run!.success, true, resumed!.run!.error ?? '');
      // Only pages 4 and 5: it went on from the checkpoint.
      assert.equal(resumed!.run!.objects, 20);
      assert.equal((await sync.resolveAccount('cp')).state, '{"page":6}');
      const all = await sync.listData({ accounts: ['cp'], pageSize: 1000 });
      assert.equal(all.total, 60);
      assert.equal(new Set(all.items.map((o) => o.remoteId)).size, 60);

      await sync.resetState('cp');
      assert.equal((await sync.resolveAccount('cp')).state, null);
      const [full] = await sync.sync(['cp'], quiet);
      assert.equal(full!.run!.objects, 60);
    });
  });
}

void test('the TS SDK under a host without state gets state null; a connector that never checkpoints leaves the state alone', async (t) => {
  const s = await testStore(t, 'sqlite');
  if (!s) return;
  const sync = await openSync({ store: s.store, home: s.home });
  t.after(async () => {
    await sync.close();
    await s.cleanup();
  });
  const readme = join(s.home, 'README.txt');
  await writeFile(readme, 'x');
  await sync.installConnector(JSON.stringify({ name: 'pages', source: 'Local', uri: readme, command: pagesCommand }));
  await sync.addAccount({ connector: 'pages', name: 'plain', options: JSON.stringify({ pages: 2 }) });
  const [o] = await sync.sync(['plain'], quiet);
  assert.deepEqual([o!.run!.success, o!.run!.checkpoints, o!.run!.state, o!.run!.status], [true, 0, null, 'succeeded']);
  assert.equal((await sync.resolveAccount('plain')).state, null);
});

void test('Go: a connector using state resumes after it died; an old c1-core connector syncs unchanged with a state set', async (t) => {
  if (!(await needGo(t))) return;
  const s = await testStore(t, 'sqlite');
  if (!s) return;
  const sync = await openSync({ store: s.store, home: s.home });
  t.after(async () => {
    await sync.close();
    await s.cleanup();
  });
  const [stateful, old] = await Promise.all([buildGoProgram('go-state'), buildGoProgram('go-interop')]);
  const readme = join(s.home, 'README.txt');
  await writeFile(readme, 'x');
  await sync.installConnector(
    JSON.stringify({ name: 'gostate', source: 'Local', uri: readme, command: `"${stateful}"` }),
  );
  await sync.installConnector(JSON.stringify({ name: 'goold', source: 'Local', uri: readme, command: `"${old}"` }));

  await sync.addAccount({ connector: 'gostate', name: 'g', options: '{"pages": 5, "perPage": 3, "exitAfter": 3}' });
  const [dead] = await sync.sync(['g'], quiet);
  assert.equal(dead!.run!.success, false);
  assert.match(dead!.run!.error ?? '', /exited with code 3/);
  assert.equal((await sync.resolveAccount('g')).state, '{"page":3}');
  await sync.updateAccount('g', { options: '{"pages": 5, "perPage": 3}' });
  const [resumed] = await sync.sync(['g'], quiet);
  assert.equal(resumed!.run!.success, true, resumed!.run!.error ?? '');
  assert.deepEqual([resumed!.run!.objects, resumed!.run!.metadata], [6, '{"from":3,"sent":2}']);
  assert.equal((await sync.listData({ accounts: ['g'] })).total, 15);

  // c1-core's proto has no field 3 and no Checkpoint: the old connector ignores the state it is sent.
  await sync.addAccount({ connector: 'goold', name: 'old', options: '{"pages": 2, "perPage": 4}' });
  await s.store.exec("UPDATE accounts SET state = '{\"page\":1}' WHERE name = 'old'");
  const [plain] = await sync.sync(['old'], quiet);
  assert.equal(plain!.run!.success, true, plain!.run!.error ?? '');
  assert.deepEqual([plain!.run!.objects, plain!.run!.metadata], [8, '{"pages":2,"perPage":4}']);
  assert.equal((await sync.resolveAccount('old')).state, '{"page":1}');
});

void test('kill -9 of the syncing process mid-run: the next sync closes the run as abandoned and resumes from the checkpoint', async () => {
  const home = await tempDir('sb-state-kill-');
  const work = await tempDir('sb-state-kill-work-');
  try {
    const { ok } = cli(work.path, home.path);
    await writeFile(join(work.path, 'README'), 'x');
    await ok(
      'connector',
      'install',
      JSON.stringify({ name: 'pages', source: 'Local', uri: join(work.path, 'README'), command: pagesCommand }),
    );
    const options = { pages: 20, perPage: 5, checkpointEvery: 1, delayMs: 300 };
    await ok(
      'account',
      'add',
      '--connector',
      'pages',
      '--name',
      'k',
      '--no-check',
      '--options',
      JSON.stringify(options),
    );
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const child = spawn(process.execPath, [join(root, 'bin/switchboard.js'), 'sync', 'k'], {
      cwd: work.path,
      env: {
        ...process.env,
        SWITCHBOARD_FROM_SOURCE: '1',
        SWITCHBOARD_HOME: home.path,
        SWITCHBOARD_LOG_LEVEL: 'silent',
        SWITCHBOARD_DATABASE_URL: '',
      },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    // Wait until at least two checkpoints are committed, then kill the host without a word.
    const sync = await openSync({ home: home.path, database: join(home.path, 'switchboard.db') });
    try {
      for (;;) {
        const a = await sync.resolveAccount('k');
        if (a.state && (JSON.parse(a.state) as { page: number }).page >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      await exited;
      const [open] = await sync.listRuns({ account: 'k' });
      assert.equal(open!.status, 'running');
      const checkpointed = (JSON.parse((await sync.resolveAccount('k')).state!) as { page: number }).page;

      const [o] = await sync.sync(['k'], quiet);
      assert.equal(o!.run!.success, true, o!.run!.error ?? '');
      const runs = await sync.listRuns({ account: 'k' });
      assert.equal(runs[1]!.status, 'abandoned');
      assert.match(runs[1]!.error ?? '', /abandoned: its process .* stopped/);
      // It went on from its checkpoint, not from the start, and every object is there once.
      assert.equal(o!.run!.objects, (20 - checkpointed) * 5);
      const data = await sync.listData({ accounts: ['k'], pageSize: 1000 });
      assert.equal(data.total, 100);
      assert.equal(new Set(data.items.map((d) => d.remoteId)).size, 100);
    } finally {
      await sync.close();
    }
  } finally {
    await home.cleanup();
    await work.cleanup();
  }
});
