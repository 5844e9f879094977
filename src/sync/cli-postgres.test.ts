import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { needService, SERVICES, tempDir } from '../core/test/support.js';
import { cli, pagesCommand as command, type Cli } from './test/cli-helpers.js';

// CLI end to end on PostgreSQL (--database).
let work: { path: string; cleanup: () => Promise<void> };
let sb: Cli['sb'];
let ok: Cli['ok'];

before(async () => {
  work = await tempDir('switchboard-sync-cli-pg-');
  ({ sb, ok } = cli(work.path, join(work.path, 'home')));
});
after(async () => {
  await work.cleanup();
});

void test('the same verbs on PostgreSQL with --database', async (t) => {
  if (!(await needService(t, 'postgres'))) return;
  const schema = `sb_cli_${randomBytes(5).toString('hex')}`;
  const db = `${SERVICES.postgres.url}?schema=${schema}`;
  try {
    const src = join(work.path, 'pg-src.txt');
    await writeFile(src, 'x');
    await ok(
      'connector',
      'install',
      JSON.stringify({ name: 'pages', source: 'Local', uri: src, command }),
      '--database',
      db,
    );
    await ok(
      'account',
      'add',
      '--connector',
      'pages',
      '--name',
      'p',
      '--options',
      '{"pages": 2, "perPage": 3}',
      '--database',
      db,
    );
    const synced = await sb('sync', '--database', db);
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stderr, /pages\/p: ok, run 1: 6 objects in 2 pages/);
    assert.equal(JSON.parse(await ok('data', 'list', '--json', '--database', db)).total, 6);
    // Nothing of it went to the SQLite file of this home.
    assert.equal(
      JSON.parse(await ok('connector', 'list', '--json')).some((c: { name: string }) => c.name === 'pages'),
      false,
    );
  } finally {
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  }
});
