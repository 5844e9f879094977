import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { needService, SERVICES, tempDir } from '../core/testing.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('./test/fixtures/pages-connector.ts', import.meta.url));
const command = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${fixture}"`;

let work: { path: string; cleanup: () => Promise<void> };
let home: string;

before(async () => {
  work = await tempDir('switchboard-sync-cli-');
  home = join(work.path, 'home');
});
after(async () => { await work.cleanup(); });

function sb(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/switchboard.js'), ...args], {
      cwd: work.path,
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_HOME: home, SWITCHBOARD_LOG_LEVEL: 'silent', SWITCHBOARD_DATABASE_URL: '' },
      timeout: 60_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await sb(...args);
  assert.equal(r.code, 0, `switchboard ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

// One story in steps (each its own test, run in order, sharing the home), so no step nears the per-test timeout.
void test('connector install by path with --name, list, accounts', async () => {
  // A connector folder with its manifest (relative Local source), installed by path under another name.
  const pkg = join(work.path, 'pkg');
  await mkdir(join(pkg, 'files'), { recursive: true });
  await writeFile(join(pkg, 'files', 'README'), 'pages');
  await writeFile(join(pkg, 'manifest.json'), JSON.stringify({ name: 'pages', description: 'test pages', source: 'Local', uri: 'files', install_command: 'echo building in $PWD', command }));
  const install = await sb('connector', 'install', pkg, '--name', 'pg1');
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /installed connector pg1/);
  assert.match(install.stderr, /building in .*connectors\/pg1/);
  assert.ok(existsSync(join(home, 'connectors', 'pg1', 'README')));
  assert.ok(existsSync(join(home, 'switchboard.db')));

  const list = JSON.parse(await ok('connector', 'list', '--json')) as { name: string; description: string }[];
  assert.deepEqual(list.map((c) => [c.name, c.description]), [['pg1', 'test pages']]);
  assert.match(await ok('connector', 'list'), /^NAME\s+SOURCE/);

  const bad = await sb('account', 'add', '--connector', 'pg1', '--name', 'a', '--options', '{pages: 2}');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^switchboard: INVALID_ARGUMENT: account options must be valid JSON/);
  assert.match(await ok('account', 'add', '--connector', 'pg1', '--name', 'a', '--options', '{"pages": 3, "perPage": 5}'), /added account 1 \(pg1\/a\)/);
  await ok('account', 'add', '--connector', 'pg1', '--name', 'broken', '--options', '{"pages": 2, "failBefore": 1}');
  const accounts = JSON.parse(await ok('account', 'list', '--json')) as { id: number; name: string }[];
  assert.deepEqual(accounts.map((a) => a.name), ['a', 'broken']);

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
  const runs = JSON.parse(failed.stdout) as { account: { name: string }; run: { success: boolean; error: string | null } }[];
  assert.deepEqual(runs.map((r) => [r.account.name, r.run.success]), [['broken', false], ['a', true]]);
  assert.match(runs[0]!.run.error ?? '', /503 on page 2/);

});

void test('data list and note; notes survive a re-sync', async () => {
  const listed = await ok('account', 'list');
  assert.match(listed, /1\s+pg1\s+a\s+\{"pages":3,"perPage":5\}\s+ok .* \(15 objects\)/);
  assert.match(listed, /2\s+pg1\s+broken\s+.*FAILED .* \(10 objects\)/);
  const page = JSON.parse(await ok('data', 'list', '--account', 'a', '--json')) as { total: number; items: { id: number; remoteId: string }[] };
  assert.equal(page.total, 15);
  const target = page.items.find((o) => o.remoteId === 'obj-2-4')!;
  assert.match(await ok('data', 'note', String(target.id), 'call back'), /noted data object/);
  await ok('sync', 'pg1/a');
  const noted = JSON.parse(await ok('data', 'list', '--search', 'CALL BACK', '--json')) as { total: number; items: { remoteId: string; notes: string }[] };
  assert.deepEqual(noted.items.map((o) => [o.remoteId, o.notes]), [['obj-2-4', 'call back']]);
  const table = await ok('data', 'list', '--connector', 'pg1', '--page-size', '10', '--page', '2');
  assert.match(table, /page 2 of 3 \(25 objects\)/);
  assert.match((await sb('data', 'note', '99999', 'x')).stderr, /NOT_FOUND: no data object with id 99999/);

});

void test('two processes syncing one account at once: one is refused', async () => {
  // Two processes syncing one account at once: one runs, the other is refused (the lease is in the database).
  await ok('account', 'add', '--connector', 'pg1', '--name', 'slow', '--options', '{"pages": 4, "perPage": 2, "delayMs": 1000}');
  const both = await Promise.all([sb('sync', 'slow'), sb('sync', 'slow')]);
  assert.deepEqual(both.map((r) => r.code).sort(), [0, 1], both.map((r) => r.stderr).join('\n'));
  assert.match(both.find((r) => r.code === 1)!.stderr, /pg1\/slow: not started: CONFLICT: account "slow" \(pg1\) is being synced already/);
  assert.equal(JSON.parse(await ok('data', 'list', '--account', 'slow', '--json')).total, 8);
  assert.match(await ok('account', 'update', 'slow', '--options', '{"pages": 1}'), /updated account \d+ \(pg1\/slow\): options \{"pages":1\}/);
  await ok('account', 'remove', 'slow');

});

void test('account remove, connector update and remove', async () => {
  const refused = await sb('connector', 'remove', 'pg1');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /still has 2 account\(s\)/);
  assert.match(await ok('account', 'remove', 'broken'), /removed account 2/);
  assert.match(await ok('connector', 'update', 'pg1'), /updated connector pg1/);
  assert.match(await ok('connector', 'remove', 'pg1', '--force'), /removed connector pg1 and 1 account/);
  assert.equal(existsSync(join(home, 'connectors', 'pg1')), false);
  assert.equal(JSON.parse(await ok('data', 'list', '--json')).total, 0);
  assert.match((await sb('sync')).stderr, /NOT_FOUND: there are no accounts to sync/);
  assert.match((await sb('connector', 'install', '{"name":"x","source":"FTP","uri":"u","command":"c"}')).stderr, /field "source" must be one of HTTP, VCS or Local \(got "FTP"\)/);
});

void test('the same verbs on PostgreSQL with --database', async (t) => {
  if (!(await needService(t, 'postgres'))) return;
  const schema = `sb_cli_${randomBytes(5).toString('hex')}`;
  const db = `${SERVICES.postgres.url}?schema=${schema}`;
  try {
    const src = join(work.path, 'pg-src.txt');
    await writeFile(src, 'x');
    await ok('connector', 'install', JSON.stringify({ name: 'pages', source: 'Local', uri: src, command }), '--database', db);
    await ok('account', 'add', '--connector', 'pages', '--name', 'p', '--options', '{"pages": 2, "perPage": 3}', '--database', db);
    const synced = await sb('sync', '--database', db);
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stderr, /pages\/p: ok, run 1: 6 objects in 2 pages/);
    assert.equal(JSON.parse(await ok('data', 'list', '--json', '--database', db)).total, 6);
    // Nothing of it went to the SQLite file of this home.
    assert.equal(JSON.parse(await ok('connector', 'list', '--json')).some((c: { name: string }) => c.name === 'pages'), false);
  } finally {
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    try { await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); } finally { await admin.end(); }
  }
});
