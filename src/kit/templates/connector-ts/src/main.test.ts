/**
 * Runs the built connector the way Switchboard does (`runConnector` is the host `switchboard sync`
 * uses: go-plugin handshake, gRPC, one callback per page) and checks what it sends.
 * `npm test` builds first; run it after changing the connector.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runConnector, type WireDataObject } from 'switchboard/sync';

const folder = dirname(dirname(fileURLToPath(import.meta.url)));

async function sync(options: object): Promise<{ pages: WireDataObject[][]; metadata: string }> {
  const pages: WireDataObject[][] = [];
  const { metadata } = await runConnector({
    command: `"${process.execPath}" dist/main.js`,
    cwd: folder,
    options: JSON.stringify(options),
    onPage: async (objects) => {
      pages.push(objects);
    },
    onClean: async () => {},
    onLog: () => {},
  });
  return { pages, metadata };
}

test('sends the sample items in pages, each with a remote id and its item as metadata', async () => {
  const { pages, metadata } = await sync({});
  const objects = pages.flat();
  assert.equal(objects.length, 12);
  assert.deepEqual(
    pages.map((p) => p.length),
    [5, 5, 2],
  );
  assert.equal(objects[0]?.remoteId, '1');
  assert.equal(objects[0]?.resourceName, 'Ada Lovelace');
  assert.equal(JSON.parse(objects[0]?.metadata ?? '{}').email, 'ada@example.org');
  assert.equal(JSON.parse(metadata).items, 12);
});

test('reads another file and page size from the options', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'connector-test-'));
  const file = join(dir, 'items.json');
  await writeFile(file, JSON.stringify([{ id: 'a' }, { id: 'b', name: 'Bee' }, { id: 'c' }]));
  const { pages } = await sync({ file, pageSize: 2 });
  assert.deepEqual(
    pages.map((p) => p.map((o) => o.remoteId)),
    [['a', 'b'], ['c']],
  );
});

test('refuses bad options with a sentence', async () => {
  await assert.rejects(sync({ file: 'missing.json' }), /cannot read .*missing\.json/);
  await assert.rejects(sync({ pageSize: 0 }), /pageSize/);
});
