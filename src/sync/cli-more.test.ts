import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../core/test/support.js';
import { openSync } from './open.js';
import { cli, pagesCommand as command, type Cli, folderOf } from './test/cli-helpers.js';

// CLI end to end, part 2: concurrency across processes, account update/remove, connector update/remove.
let work: { path: string; cleanup: () => Promise<void> };
let home: string;
let sb: Cli['sb'];
let ok: Cli['ok'];

before(async () => {
  work = await tempDir('switchboard-sync-cli2-');
  home = join(work.path, 'home');
  ({ sb, ok } = cli(work.path, home));
  // Set up in-process (the first part covers doing this through the CLI).
  const sync = await openSync({ home });
  const src = join(work.path, 'README');
  await writeFile(src, 'pages');
  await sync.installConnector(JSON.stringify({ name: 'pg1', source: 'Local', uri: src, command }));
  await sync.addAccount({ connector: 'pg1', name: 'a', options: '{"pages": 1}' });
  await sync.addAccount({ connector: 'pg1', name: 'broken', options: '{"pages": 2, "failBefore": 1}' });
  await sync.close();
});
after(async () => {
  await work.cleanup();
});

void test('two processes syncing one account at once: one is refused', async () => {
  // Two processes syncing one account at once: one runs, the other is refused (the lease is in the database).
  await ok(
    'account',
    'add',
    '--connector',
    'pg1',
    '--name',
    'slow',
    '--options',
    '{"pages": 4, "perPage": 2, "delayMs": 1000}',
  );
  const both = await Promise.all([sb('sync', 'slow'), sb('sync', 'slow')]);
  assert.deepEqual(both.map((r) => r.code).sort(), [0, 1], both.map((r) => r.stderr).join('\n'));
  assert.match(
    both.find((r) => r.code === 1)!.stderr,
    /pg1\/slow: not started: CONFLICT: account "slow" \(pg1\) is being synced already/,
  );
  assert.equal(JSON.parse(await ok('data', 'list', '--account', 'slow', '--json')).total, 8);
  assert.match(
    await ok('account', 'update', 'slow', '--options', '{"pages": 1}'),
    /updated account \d+ \(pg1\/slow\): options \{"pages":1\}/,
  );
  await ok('account', 'remove', 'slow');
});

void test('account remove, connector update and remove', async () => {
  const refused = await sb('connector', 'remove', 'pg1');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /still has 2 account\(s\)/);
  assert.match(await ok('account', 'remove', 'broken'), /removed account 2/);
  assert.match(await ok('connector', 'update', 'pg1'), /updated connector pg1/);
  assert.match(await ok('connector', 'remove', 'pg1', '--force'), /removed connector pg1 and 1 account/);
  assert.equal(existsSync(folderOf(home, 'pg1')), false);
  assert.equal(JSON.parse(await ok('data', 'list', '--json')).total, 0);
  assert.match((await sb('sync')).stderr, /NOT_FOUND: there are no accounts to sync/);
  assert.match(
    (await sb('connector', 'install', '{"name":"x","source":"FTP","uri":"u","command":"c"}')).stderr,
    /field "source" must be one of HTTP, VCS or Local \(got "FTP"\)/,
  );
});
