/**
 * `switchboard connector new NAME --lang ts`, then the commands of the README it wrote, as written:
 * npm install and the connector's own test, `connector install`, `account add`, `sync`. The rows
 * must be in the store. The TypeScript template depends on this checkout by path (its built dist/).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tryTemplate } from './test/template.js';

// npm install dominates (it reads the linked package's whole tree): ~1 min on a quiet machine, far more on a loaded one.
void test('the TypeScript sync connector template syncs rows as its README says', async (t) => {
  const { read, output } = await tryTemplate(t, {
    verb: 'connector',
    name: 'people',
    lang: 'ts',
    checks:
      'switchboard data list --connector people --json > rows.json\nswitchboard account runs a --json > runs.json',
  });
  const rows = JSON.parse(await read('rows.json')) as { total: number; items: { remoteId: string; name: string }[] };
  assert.equal(rows.total, 12, output);
  assert.deepEqual(
    rows.items.map((r) => r.remoteId).sort((a, b) => Number(a) - Number(b)),
    ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'],
  );
  const runs = JSON.parse(await read('runs.json')) as { success: boolean; objects: number; pages: number }[];
  assert.equal(runs.length, 1);
  assert.deepEqual([runs[0]?.success, runs[0]?.objects, runs[0]?.pages], [true, 12, 3]);
});
