import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../core/test/support.js';
import { openSync, type SyncApi } from './open.js';
import { storeId } from './schema.js';

let work: { path: string; cleanup: () => Promise<void> };
let sync: SyncApi;
let server: Server;
let base: string;
const served = new Map<string, string>();

before(async () => {
  work = await tempDir('switchboard-install-');
  sync = await openSync({ home: join(work.path, 'home') });
  storeKey = await storeId(sync.store);
  server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end('nope');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

after(async () => {
  await sync.close();
  await new Promise<void>((r) => server.close(() => r()));
  await work.cleanup();
});

let storeKey = '';
// Folders are keyed by the store (two stores sharing one home never overwrite each other).
const dirOf = (name: string) => join(sync.home, 'connectors', storeKey, name);

function capture(): { sink: (t: string) => void; text: () => string } {
  let out = '';
  return {
    sink: (t) => {
      out += t;
    },
    text: () => out,
  };
}

void test('install from raw JSON with a Local file source, running install_command in the connector folder', async () => {
  const src = join(work.path, 'conn.sh');
  await writeFile(src, '#!/bin/sh\necho hi\n');
  const out = capture();
  const c = await sync.installConnector(
    JSON.stringify({
      name: 'raw',
      source: 'Local',
      uri: src,
      install_command: 'chmod +x conn.sh && echo installed-in=$(pwd)',
      command: './conn.sh',
    }),
    { onOutput: out.sink },
  );
  assert.equal(c.name, 'raw');
  assert.equal(c.source, 'Local');
  assert.ok(existsSync(join(dirOf('raw'), 'conn.sh')));
  assert.match(out.text(), new RegExp(`installed-in=${dirOf('raw')}`));
  assert.deepEqual(
    (await sync.listConnectors()).map((x) => x.name),
    ['raw'],
  );
  await assert.rejects(
    sync.installConnector(JSON.stringify({ name: 'raw', source: 'Local', uri: src, command: 'x' })),
    /installed already/,
  );
});

void test('install from a manifest path (relative Local folder) with --name, then update reinstalls from the source', async () => {
  const pkg = join(work.path, 'pkg');
  await mkdir(join(pkg, 'app'), { recursive: true });
  await writeFile(join(pkg, 'app', 'version.txt'), 'v1');
  await writeFile(
    join(pkg, 'manifest.json'),
    JSON.stringify({ name: 'folder', source: 'Local', uri: 'app', command: 'cat version.txt' }),
  );
  const c = await sync.installConnector(pkg, { name: 'renamed' });
  assert.equal(c.name, 'renamed');
  assert.equal(c.uri, join(pkg, 'app'));
  assert.equal(readFileSync(join(dirOf('renamed'), 'version.txt'), 'utf8'), 'v1');
  await writeFile(join(pkg, 'app', 'version.txt'), 'v2');
  await sync.updateConnector('renamed');
  assert.equal(readFileSync(join(dirOf('renamed'), 'version.txt'), 'utf8'), 'v2');
  // A reinstall that fails keeps the previous install.
  await rm(join(pkg, 'app'), { recursive: true });
  await assert.rejects(sync.updateConnector('renamed'), /the Local source .* does not exist/);
  assert.equal(readFileSync(join(dirOf('renamed'), 'version.txt'), 'utf8'), 'v2');
  assert.equal(existsSync(`${dirOf('renamed')}.previous`), false);
});

void test('install from a URL manifest with an HTTP source; update_command runs when set', async () => {
  served.set('/dist/tool.sh', '#!/bin/sh\necho tool\n');
  served.set(
    '/manifest.json',
    JSON.stringify({
      name: 'web',
      description: 'served',
      source: 'HTTP',
      uri: `${base}/dist/tool.sh`,
      install_command: 'test -s tool.sh',
      update_command: 'echo updated > marker',
      command: 'sh tool.sh',
    }),
  );
  const c = await sync.installConnector(`${base}/manifest.json`);
  assert.equal(c.description, 'served');
  assert.equal(readFileSync(join(dirOf('web'), 'tool.sh'), 'utf8'), served.get('/dist/tool.sh'));
  await sync.updateConnector('web');
  assert.equal(readFileSync(join(dirOf('web'), 'marker'), 'utf8').trim(), 'updated');
  await assert.rejects(sync.installConnector(`${base}/missing.json`), /HTTP 404/);
  await assert.rejects(
    sync.installConnector(JSON.stringify({ name: 'gone', source: 'HTTP', uri: `${base}/missing.bin`, command: 'x' })),
    /HTTP 404/,
  );
  assert.equal(existsSync(dirOf('gone')), false);
});

void test('install from git (a local bare repository); update pulls new commits', async () => {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@t',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@t',
  };
  const bare = join(work.path, 'repo.git');
  const wt = join(work.path, 'repo-wt');
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'pipe' });
  git(work.path, 'init', '-q', '--bare', bare);
  git(work.path, 'clone', '-q', bare, wt);
  await writeFile(join(wt, 'run.sh'), 'echo one');
  git(wt, 'add', '.');
  git(wt, 'commit', '-q', '-m', 'one');
  git(wt, 'push', '-q', 'origin', 'HEAD');
  const out = capture();
  await sync.installConnector(JSON.stringify({ name: 'gitc', source: 'VCS', uri: bare, command: 'sh run.sh' }), {
    onOutput: out.sink,
  });
  assert.match(out.text(), /git clone/);
  assert.equal(readFileSync(join(dirOf('gitc'), 'run.sh'), 'utf8'), 'echo one');
  await writeFile(join(wt, 'run.sh'), 'echo two');
  git(wt, 'commit', '-q', '-am', 'two');
  git(wt, 'push', '-q', 'origin', 'HEAD');
  await sync.updateConnector('gitc', { onOutput: out.sink });
  assert.equal(readFileSync(join(dirOf('gitc'), 'run.sh'), 'utf8'), 'echo two');
  assert.match(out.text(), /git pull/);
});

void test('a failing install_command leaves no row and no folder, and shows the output tail', async () => {
  const src = join(work.path, 'f.txt');
  await writeFile(src, 'x');
  await assert.rejects(
    sync.installConnector(
      JSON.stringify({
        name: 'broken',
        source: 'Local',
        uri: src,
        install_command: 'echo compiling; echo "error: no compiler" >&2; exit 3',
        command: 'x',
      }),
    ),
    (err: Error) =>
      /install command of broken exited with code 3/.test(err.message) && /error: no compiler/.test(err.message),
  );
  assert.equal(existsSync(dirOf('broken')), false);
  assert.equal(
    (await sync.listConnectors()).some((c) => c.name === 'broken'),
    false,
  );
  await assert.rejects(
    sync.installConnector('/no/such/manifest.json'),
    /not a JSON manifest, not an http\(s\) URL, and no file exists/,
  );
  await assert.rejects(sync.installConnector('{"name": "x",'), /not valid JSON/);
  await assert.rejects(
    sync.installConnector('{"name": "x", "source": "FTP", "uri": "u", "command": "c"}'),
    /field "source" must be one of/,
  );
});

void test('remove deletes the row and the folder; accounts block it unless forced', async () => {
  const src = join(work.path, 'r.txt');
  await writeFile(src, 'x');
  await sync.installConnector(JSON.stringify({ name: 'rm1', source: 'Local', uri: src, command: 'x' }));
  const acct = await sync.addAccount({ connector: 'rm1', name: 'a', options: '{}' });
  await assert.rejects(sync.removeConnector('rm1'), /still has 1 account\(s\): a; remove them first or pass --force/);
  assert.deepEqual(await sync.removeConnector('rm1', { force: true }), { accountsRemoved: 1 });
  assert.equal(existsSync(dirOf('rm1')), false);
  await assert.rejects(sync.resolveAccount(String(acct.id)), /no account/);
  await assert.rejects(sync.removeConnector('rm1'), /no connector named "rm1"/);
  await assert.rejects(sync.updateConnector('rm1'), /no connector named "rm1"/);
});

void test('two stores sharing one home keep their own folder for a connector of the same name', async () => {
  const other = await openSync({ home: sync.home, database: join(work.path, 'other.db') });
  try {
    const a = join(work.path, 'a.txt');
    const b = join(work.path, 'b.txt');
    await writeFile(a, 'store one');
    await writeFile(b, 'store two');
    await sync.installConnector(JSON.stringify({ name: 'same', source: 'Local', uri: a, command: './x' }));
    await other.installConnector(JSON.stringify({ name: 'same', source: 'Local', uri: b, command: './x' }));
    const mine = dirOf('same');
    const theirs = join(sync.home, 'connectors', await storeId(other.store), 'same');
    assert.notEqual(mine, theirs);
    assert.equal(readFileSync(join(mine, 'a.txt'), 'utf8'), 'store one');
    assert.equal(readFileSync(join(theirs, 'b.txt'), 'utf8'), 'store two');
    await other.removeConnector('same');
    assert.equal(existsSync(theirs), false);
    assert.ok(existsSync(join(mine, 'a.txt')), "removing it from one store leaves the other's folder");
  } finally {
    await other.close();
  }
});
