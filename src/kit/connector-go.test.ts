/**
 * `switchboard connector new NAME --lang go`, then the commands of the README it wrote, as written:
 * the Go tests and build (offline, Debian's go-plugin), `connector install`, `account add`, `sync`.
 * The rows must be in the store. Without the Go packages the test is skipped (fails with CI=true).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needGo } from '../sync/test/go-build.js';
import { tryTemplate } from './test/template.js';

void test('the Go sync connector template syncs rows as its README says', async (t) => {
  if (!(await needGo(t))) return;
  const { read, output } = await tryTemplate(t, {
    verb: 'connector',
    name: 'people-go',
    lang: 'go',
    checks:
      'switchboard data list --connector people-go --json > rows.json\nswitchboard account runs a --json > runs.json',
  });
  const rows = JSON.parse(await read('rows.json')) as {
    total: number;
    items: { remoteId: string; resourceName: string; metadata: string }[];
  };
  assert.equal(rows.total, 12, output);
  const ada = rows.items.find((r) => r.remoteId === '1');
  assert.equal(ada?.resourceName, 'Ada Lovelace');
  assert.equal((JSON.parse(ada?.metadata ?? '{}') as { email?: string }).email, 'ada@example.org');
  const runs = JSON.parse(await read('runs.json')) as { success: boolean; objects: number; pages: number }[];
  assert.deepEqual([runs[0]?.success, runs[0]?.objects, runs[0]?.pages], [true, 12, 3]);
});
