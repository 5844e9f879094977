/**
 * `switchboard connector new NAME --lang python`, then the commands of the README it wrote, as written:
 * the source's own tests, `connector install` (an Airbyte source), `account add`, two `sync`s. The
 * rows must be in the store, and the second run, incremental from the first one's STATE, finds none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needPython, tryTemplate } from './test/template.js';

void test('the Python (Airbyte) sync connector template syncs rows as its README says', async (t) => {
  if (!needPython(t)) return;
  const { read, output } = await tryTemplate(t, {
    verb: 'connector',
    name: 'people-py',
    lang: 'python',
    checks:
      'switchboard data list --connector people-py --json > rows.json\nswitchboard account runs a --json > runs.json',
  });
  const rows = JSON.parse(await read('rows.json')) as {
    total: number;
    items: { remoteId: string; resourceName: string; metadata: string }[];
  };
  assert.equal(rows.total, 12, output);
  const ada = rows.items.find((r) => r.remoteId === 'people/1');
  assert.equal(ada?.resourceName, 'people');
  assert.equal((JSON.parse(ada?.metadata ?? '{}') as { email?: string }).email, 'ada@example.org');
  const [second, first] = JSON.parse(await read('runs.json')) as {
    success: boolean;
    objects: number;
    checkpoints: number;
    state: string | null;
  }[];
  assert.deepEqual([first?.success, first?.objects, first?.checkpoints], [true, 12, 3], output);
  assert.match(first?.state ?? '', /"updated":"2026-01-12T09:00:00Z"/);
  assert.deepEqual([second?.success, second?.objects], [true, 0], 'the second run is incremental');
});
