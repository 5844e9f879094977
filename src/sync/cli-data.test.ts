import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../core/test/support.js';
import { openSync } from './open.js';
import { cli, pagesCommand as command, type Cli } from './test/cli-helpers.js';

// CLI end to end: browsing what syncs stored (set up and first synced in-process).
let work: { path: string; cleanup: () => Promise<void> };
let ok: Cli['ok'];
let sb: Cli['sb'];

before(async () => {
  work = await tempDir('switchboard-sync-cli-data-');
  const home = join(work.path, 'home');
  ({ sb, ok } = cli(work.path, home));
  const sync = await openSync({ home });
  const src = join(work.path, 'README');
  await writeFile(src, 'pages');
  await sync.installConnector(JSON.stringify({ name: 'pg1', source: 'Local', uri: src, command }));
  await sync.addAccount({ connector: 'pg1', name: 'a', options: '{"pages": 3, "perPage": 5}' });
  await sync.addAccount({ connector: 'pg1', name: 'broken', options: '{"pages": 2, "failBefore": 1}' });
  await sync.sync(['a', 'broken'], { onLog: () => {} });
  await sync.close();
});
after(async () => {
  await work.cleanup();
});

void test('data list and note; notes survive a re-sync', async () => {
  const listed = await ok('account', 'list');
  assert.match(listed, /1\s+pg1\s+a\s+\{"pages":3,"perPage":5\}\s+ok .* \(15 objects\)/);
  assert.match(listed, /2\s+pg1\s+broken\s+.*FAILED .* \(10 objects\)/);
  const runsTable = await ok('account', 'runs', 'broken');
  assert.match(runsTable, /^RUN\s+ACCOUNT/);
  assert.match(runsTable, /pg1\/broken\s+\S+\s+\S+\s+FAILED\s+10\s+1\s+SYNC_FAILED: .*503 on page 2/);
  const allRuns = JSON.parse(await ok('account', 'runs', '--json', '--limit', '2')) as { id: number }[];
  assert.equal(allRuns.length, 2);
  const page = JSON.parse(await ok('data', 'list', '--account', 'a', '--json')) as {
    total: number;
    items: { id: number; remoteId: string }[];
  };
  assert.equal(page.total, 15);
  const target = page.items.find((o) => o.remoteId === 'obj-2-4')!;
  assert.match(await ok('data', 'note', String(target.id), 'call back'), /noted data object/);
  await ok('sync', 'pg1/a');
  const noted = JSON.parse(await ok('data', 'list', '--search', 'CALL BACK', '--json')) as {
    total: number;
    items: { remoteId: string; notes: string }[];
  };
  assert.deepEqual(
    noted.items.map((o) => [o.remoteId, o.notes]),
    [['obj-2-4', 'call back']],
  );
  const table = await ok('data', 'list', '--connector', 'pg1', '--page-size', '10', '--page', '2');
  assert.match(table, /page 2 of 3 \(25 objects\)/);
  assert.match((await sb('data', 'note', '99999', 'x')).stderr, /NOT_FOUND: no data object with id 99999/);
});
