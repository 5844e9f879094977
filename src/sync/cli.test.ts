import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../core/test/support.js';
import { cli, pagesCommand as command, type Cli, folderOf } from './test/cli-helpers.js';

// CLI end to end, part 1 (each test file has its own time limit, so the story is split in files).
let work: { path: string; cleanup: () => Promise<void> };
let home: string;
let sb: Cli['sb'];
let ok: Cli['ok'];

before(async () => {
  work = await tempDir('switchboard-sync-cli-');
  home = join(work.path, 'home');
  ({ sb, ok } = cli(work.path, home));
});
after(async () => {
  await work.cleanup();
});

// One story in steps (each its own test, run in order, sharing the home), so no step nears the per-test timeout.
void test('connector install by path with --name, list, accounts', async () => {
  // A connector folder with its manifest (relative Local source), installed by path under another name.
  const pkg = join(work.path, 'pkg');
  await mkdir(join(pkg, 'files'), { recursive: true });
  await writeFile(join(pkg, 'files', 'README'), 'pages');
  await writeFile(
    join(pkg, 'manifest.json'),
    JSON.stringify({
      name: 'pages',
      description: 'test pages',
      source: 'Local',
      uri: 'files',
      install_command: 'echo building in $PWD',
      command,
    }),
  );
  const install = await sb('connector', 'install', pkg, '--name', 'pg1');
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /installed connector pg1/);
  assert.match(install.stderr, /building in .*connectors\/[0-9a-f]+\/pg1/);
  assert.ok(existsSync(join(folderOf(home, 'pg1'), 'README')));
  assert.ok(existsSync(join(home, 'switchboard.db')));

  const list = JSON.parse(await ok('connector', 'list', '--json')) as { name: string; description: string }[];
  assert.deepEqual(
    list.map((c) => [c.name, c.description]),
    [['pg1', 'test pages']],
  );
  assert.match(await ok('connector', 'list'), /^NAME\s+PROTOCOL\s+SOURCE/);

  const bad = await sb('account', 'add', '--connector', 'pg1', '--name', 'a', '--options', '{pages: 2}');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^switchboard: INVALID_ARGUMENT: account options must be valid JSON/);
  assert.match(
    await ok('account', 'add', '--connector', 'pg1', '--name', 'a', '--options', '{"pages": 3, "perPage": 5}'),
    /added account 1 \(pg1\/a\)/,
  );
  await ok('account', 'add', '--connector', 'pg1', '--name', 'broken', '--options', '{"pages": 2, "failBefore": 1}');
  const accounts = JSON.parse(await ok('account', 'list', '--json')) as { id: number; name: string }[];
  assert.deepEqual(
    accounts.map((a) => a.name),
    ['a', 'broken'],
  );
});

void test('sync with plain progress lines, failures and exit codes', async () => {
  // Not a TTY here: plain progress lines on stderr.
  const synced = await sb('sync', 'a');
  assert.equal(synced.code, 0, synced.stderr);
  assert.match(synced.stderr, /pg1\/a: started run 1/);
  assert.match(synced.stderr, /pg1\/a: ok, run 1: 15 objects in 3 pages/);

  const failed = await sb('sync', 'broken', 'a', '--json');
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /pg1\/broken: FAILED, run \d+ after 10 objects in 1 pages/);
  assert.match(failed.stderr, /SYNC_FAILED: 1 of 2 account\(s\) did not sync: pg1\/broken/);
  const runs = JSON.parse(failed.stdout) as {
    account: { name: string };
    run: { success: boolean; error: string | null };
  }[];
  assert.deepEqual(
    runs.map((r) => [r.account.name, r.run.success]),
    [
      ['broken', false],
      ['a', true],
    ],
  );
  assert.match(runs[0]!.run.error ?? '', /503 on page 2/);
});
