// The example connectors run under the host against real inputs: a directory tree on disk and a
// paginated JSON API served on loopback.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../../core/test/support.js';
import { checkConnector, runConnector } from '../goplugin/index.js';
import { ConnectorSyncError } from '../goplugin/errors.js';
import type { DataObject } from '../goplugin/types.js';
import { exampleCommand, exampleManifest } from './examples.js';

const work = await tempDir('sb-examples-');
after(() => work.cleanup());

async function sync(name: 'directory' | 'http-json', options: unknown) {
  const pages: DataObject[][] = [];
  let cleaned = 0;
  const result = await runConnector({
    command: exampleCommand(name),
    cwd: work.path,
    options: JSON.stringify(options),
    onPage: async (o) => {
      pages.push(o);
    },
    onClean: async () => {
      cleaned++;
    },
    onLog: () => {},
  });
  return { result, pages, cleaned };
}

void test('directory: every file with path, size, modified time and SHA-256, paged, then Clean', async () => {
  const root = join(work.path, 'tree');
  await mkdir(join(root, 'docs', 'deep'), { recursive: true });
  await mkdir(join(root, '.git'), { recursive: true });
  await writeFile(join(root, 'a.txt'), 'alpha');
  await writeFile(join(root, 'docs', 'b.md'), '# bravo');
  await writeFile(join(root, 'docs', 'deep', 'c.bin'), Buffer.alloc(1000, 1));
  await writeFile(join(root, '.git', 'HEAD'), 'ref');
  const when = new Date('2024-05-06T07:08:09.000Z');
  await utimes(join(root, 'a.txt'), when, when);

  const { result, pages, cleaned } = await sync('directory', { root, pageSize: 2 });
  assert.deepEqual(
    pages.map((p) => p.length),
    [2, 1],
  );
  const objects = pages.flat();
  assert.deepEqual(
    objects.map((o) => o.remoteId),
    ['a.txt', 'docs/b.md', 'docs/deep/c.bin'],
  );
  const a = objects[0]!;
  assert.equal(a.resourceName, 'a.txt');
  assert.equal(a.uri, `file://${join(root, 'a.txt')}`);
  assert.deepEqual(JSON.parse(a.metadata), {
    path: 'a.txt',
    size: 5,
    modified: when.toISOString(),
    sha256: createHash('sha256').update('alpha').digest('hex'),
  });
  assert.equal(cleaned, 1);
  assert.deepEqual(JSON.parse(result.metadata), { root, files: 3, bytes: 1012 });

  const withHidden = await sync('directory', { root, hidden: true });
  assert.ok(withHidden.pages.flat().some((o) => o.remoteId === '.git/HEAD'));
});

void test('directory: a missing root is refused by Check before any sync', async () => {
  const missing = join(work.path, 'nope');
  await assert.rejects(
    sync('directory', { root: missing }),
    (err: unknown) =>
      err instanceof ConnectorSyncError && err.phase === 'check' && /is not a readable directory/.test(err.message),
  );
  const checked = await checkConnector({
    command: exampleCommand('directory'),
    cwd: work.path,
    options: '{"pageSize":0}',
    onLog: () => {},
  });
  assert.equal(checked.ok, false);
  assert.match(checked.message, /root: .*; pageSize: /);
});

void test('http-json: page numbers until a short page, and next links', async () => {
  const items = Array.from({ length: 23 }, (_, i) => ({
    id: i + 1,
    title: `Item ${i + 1}`,
    link: `https://example.test/items/${i + 1}`,
  }));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== 'Bearer t0k3n') {
      res.statusCode = 401;
      res.end('{}');
      return;
    }
    if (url.pathname === '/numbered') {
      const page = Number(url.searchParams.get('page'));
      const size = Number(url.searchParams.get('per_page'));
      res.end(JSON.stringify({ data: { rows: items.slice((page - 1) * size, page * size) } }));
    } else if (url.pathname === '/linked') {
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const next = from + 10 < items.length ? String(from + 10) : null;
      res.end(JSON.stringify({ items: items.slice(from, from + 10), next }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { authorization: 'Bearer t0k3n' };

  const numbered = await sync('http-json', {
    url: `${base}/numbered`,
    itemsField: 'data.rows',
    nameField: 'title',
    uriField: 'link',
    pageSizeParam: 'per_page',
    pageSize: 10,
    headers,
  });
  assert.deepEqual(
    numbered.pages.map((p) => p.length),
    [10, 10, 3],
  );
  assert.deepEqual(numbered.pages[2]![2], {
    remoteId: '23',
    resourceName: 'Item 23',
    uri: 'https://example.test/items/23',
    metadata: JSON.stringify(items[22]),
  });
  assert.deepEqual(JSON.parse(numbered.result.metadata), { pages: 3, objects: 23 });

  requests.length = 0;
  const linked = await sync('http-json', { url: `${base}/linked`, nextField: 'next', nameField: 'title', headers });
  assert.deepEqual(
    linked.pages.map((p) => p.length),
    [10, 10, 3],
  );
  assert.deepEqual(
    requests.filter((r) => r.startsWith('/linked')),
    ['/linked', '/linked', '/linked?cursor=10', '/linked?cursor=20'],
  ); // Check, then the sync

  await assert.rejects(
    sync('http-json', { url: `${base}/numbered`, itemsField: 'data.rows' }),
    (err: unknown) => err instanceof ConnectorSyncError && /answered 401/.test(err.message),
  );
});

void test('example manifests are c1-core manifests with a runnable command', async () => {
  const m = exampleManifest('directory');
  assert.equal(m.source, 'Local');
  assert.match(m.command, /directory[/\\]main\.(ts|js)'$/);
  assert.throws(() => exampleManifest('nope'), /no example connector "nope"; there are: directory, http-json/);
  await rm(join(work.path, 'tree'), { recursive: true, force: true });
});
