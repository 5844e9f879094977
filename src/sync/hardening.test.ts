// Issue 13 and 12 on the sync side: installs stay inside the connector's folder, manifests have a
// byte limit and refuse YAML alias bombs, runs have a timeout, crashed runs are closed, and a
// connector's environment holds none of the hub's secrets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../core/test/support.js';
import { openSync, type SyncApi } from './open.js';
import { pagesCommand } from './test/cli-helpers.js';
import type { PluginLogEntry } from './goplugin/types.js';

let work: { path: string; cleanup: () => Promise<void> };
let sync: SyncApi;
let server: Server;
let base = '';

before(async () => {
  work = await tempDir('sb-hardening-');
  sync = await openSync({ home: join(work.path, 'home'), database: join(work.path, 'home', 'switchboard.db') });
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(`served ${req.url}\n`);
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

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

void test('an HTTP source whose file name decodes to a path is refused, and nothing is written outside', async () => {
  for (const [name, uri] of [
    ['dots', `${base}/pkg/..%2F..%2Fescaped.sh`],
    ['slash', `${base}/pkg/%2Ftmp%2Fabsolute.sh`],
    ['back', `${base}/pkg/..%5C..%5Cwin.sh`],
  ] as const) {
    await assert.rejects(
      sync.installConnector(JSON.stringify({ name, source: 'HTTP', uri, command: './x' })),
      /is not a plain file name; it would be written outside the connector's folder/,
      name,
    );
  }
  assert.deepEqual(filesUnder(join(sync.home, 'connectors')), []);
  assert.equal(existsSync(join(sync.home, 'escaped.sh')), false);
  assert.equal(existsSync('/tmp/absolute.sh'), false);
  // A plain name still downloads.
  const ok = await sync.installConnector(
    JSON.stringify({ name: 'plain', source: 'HTTP', uri: `${base}/pkg/conn%20v1.sh`, command: './x' }),
  );
  assert.equal(ok.name, 'plain');
  assert.ok(filesUnder(join(sync.home, 'connectors')).some((f) => f.endsWith('/plain/conn v1.sh')));
});

void test('a Local folder with a link that leaves it is refused; a relative link inside stays inside', async () => {
  const src = join(work.path, 'linked');
  await mkdir(join(src, 'lib'), { recursive: true });
  await writeFile(join(src, 'lib', 'real.txt'), 'x');
  await symlink('/etc/passwd', join(src, 'passwd'));
  await assert.rejects(
    sync.installConnector(JSON.stringify({ name: 'links', source: 'Local', uri: src, command: './x' })),
    /holds a link passwd -> \/etc\/passwd that points outside it/,
  );
  const climbing = join(work.path, 'climbing');
  await mkdir(climbing, { recursive: true });
  await symlink('../linked/lib/real.txt', join(climbing, 'up'));
  await assert.rejects(
    sync.installConnector(JSON.stringify({ name: 'climb', source: 'Local', uri: climbing, command: './x' })),
    /holds a link up -> \.\.\/linked\/lib\/real\.txt that points outside it/,
  );
  const fine = join(work.path, 'fine');
  await mkdir(join(fine, 'lib'), { recursive: true });
  await writeFile(join(fine, 'lib', 'real.txt'), 'inside');
  await symlink('lib/real.txt', join(fine, 'alias'));
  await sync.installConnector(JSON.stringify({ name: 'fine', source: 'Local', uri: fine, command: './x' }));
  const dir = filesUnder(join(sync.home, 'connectors')).find((f) => f.endsWith('/fine/alias'))!;
  assert.equal(readFileSync(join(sync.home, 'connectors', dir), 'utf8'), 'inside');
  await assert.rejects(
    sync.installConnector(
      JSON.stringify({ name: 'opt', source: 'VCS', uri: '--upload-pack=touch /tmp/x', command: './x' }),
    ),
    /field "uri" must not start with "-"/,
  );
});

void test('manifests: too large, a YAML alias bomb, and a file that is not a manifest get clean refusals without its content', async () => {
  const big = join(work.path, 'big.json');
  await writeFile(
    big,
    JSON.stringify({ name: 'big', source: 'Local', uri: '/x', command: 'x', description: 'y'.repeat(300_000) }),
  );
  await assert.rejects(sync.installConnector(big), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, /is over 256 KiB/);
    return true;
  });
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++)
    bomb.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  const bombFile = join(work.path, 'bomb.yaml');
  await writeFile(bombFile, `${bomb.join('\n')}\nname: bomb\nsource: Local\nuri: /x\ncommand: x\n`);
  await assert.rejects(sync.installConnector(bombFile), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, /too many YAML aliases/);
    return true;
  });
  const secret = join(work.path, 'shadow');
  await writeFile(secret, 'root:$6$verysecrethash:19000:0:99999:7:::\n');
  await assert.rejects(sync.installConnector(secret), (err: Error) => {
    assert.match(err.message, /the manifest from .*shadow is not valid JSON/);
    assert.doesNotMatch(err.message, /verysecret|root/);
    return true;
  });
  const yaml = join(work.path, 'manifest.yaml');
  await writeFile(yaml, 'name: fromyaml\nsource: Local\nuri: shadow\ncommand: ./x\ntimeout: 90s\n');
  const c = await sync.installConnector(yaml);
  assert.deepEqual([c.name, c.timeoutMs], ['fromyaml', 90_000]);
});

void test("a connector's environment: the allow-list and what its manifest asks for, never the hub's secrets", async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    SWITCHBOARD_HTTP_TOKEN: 'sbt_secret_token',
    SWITCHBOARD_AMQP_URL: 'amqp://guest:hunter2@127.0.0.1:5672',
    SWITCHBOARD_CONNECTOR_TOKENS: 'a=b',
    AWS_SECRET_ACCESS_KEY: 'not-for-connectors',
    MY_API_KEY: 'for-this-connector',
  });
  try {
    const readme = join(work.path, 'README');
    await writeFile(readme, 'x');
    await assert.rejects(
      sync.installConnector(
        JSON.stringify({ name: 'greedy', source: 'Local', uri: readme, command: 'x', env: ['SWITCHBOARD_HTTP_TOKEN'] }),
      ),
      /field "env.0" may not ask for SWITCHBOARD_HTTP_TOKEN/,
    );
    await sync.installConnector(
      JSON.stringify({
        name: 'envprinter',
        source: 'Local',
        uri: readme,
        install_command: 'env > install-env.txt',
        command: pagesCommand,
        env: ['MY_API_KEY'],
      }),
    );
    const installEnv = readFileSync(
      join(
        sync.home,
        'connectors',
        filesUnder(join(sync.home, 'connectors')).find((f) => f.endsWith('envprinter/install-env.txt'))!,
      ),
      'utf8',
    );
    await sync.addAccount({ connector: 'envprinter', name: 'e', options: '{"pages": 1, "printEnv": true}' });
    const lines: PluginLogEntry[] = [];
    const [o] = await sync.sync(['e'], { onLog: (_a, entry) => lines.push(entry) });
    assert.equal(o!.run!.success, true, o!.run!.error ?? '');
    const printed = lines.find((l) => l.message.startsWith('{"env"'));
    assert.ok(printed, 'the connector printed its environment');
    const env = (JSON.parse(printed.message) as { env: Record<string, string> }).env;
    for (const [what, text] of [
      ['sync', JSON.stringify(env)],
      ['install', installEnv],
    ] as const) {
      for (const secret of ['sbt_secret_token', 'hunter2', 'not-for-connectors', 'a=b'])
        assert.doesNotMatch(text, new RegExp(secret), `${what}: ${secret}`);
      assert.match(text, /for-this-connector/, what);
    }
    assert.equal(env.SWITCHBOARD_ACCOUNT, 'e');
    assert.equal(env.SWITCHBOARD_CONNECTOR, 'envprinter');
    assert.equal(env.PATH, process.env.PATH);
    assert.equal(env.SWITCHBOARD_HOME, undefined);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

void test('a connector that never answers is stopped at its timeout and its run closed as timed_out', async () => {
  const readme = join(work.path, 'README2');
  await writeFile(readme, 'x');
  await sync.installConnector(JSON.stringify({ name: 'hangs', source: 'Local', uri: readme, command: pagesCommand }));
  await sync.addAccount({ connector: 'hangs', name: 'h', options: '{"hang": true}' });
  await sync.setTimeout('h', 1000);
  const [o] = await sync.sync(['h'], { onLog: () => {} });
  assert.equal(o!.run!.status, 'timed_out');
  assert.equal(o!.run!.success, false);
  assert.match(o!.run!.error ?? '', /took longer than its limit of 1s/);
  assert.ok(o!.run!.finishedAt);
});

void test('runs a crash left open are closed as abandoned at start; a live run is left alone', async () => {
  const readme = join(work.path, 'README3');
  await writeFile(readme, 'x');
  await sync.installConnector(JSON.stringify({ name: 'crashy', source: 'Local', uri: readme, command: 'true' }));
  const a = await sync.addAccount({ connector: 'crashy', name: 'dead' });
  const b = await sync.addAccount({ connector: 'crashy', name: 'nolease' });
  const c = await sync.addAccount({ connector: 'crashy', name: 'live' });
  const now = new Date().toISOString();
  const db = sync.store;
  const open = async (accountId: number, name: string) =>
    Number(
      (
        await db.query<{ id: number }>(
          "INSERT INTO sync_runs (account_id, account_name, connector, started_at, status) VALUES (?, ?, 'crashy', ?, 'running') RETURNING id",
          [accountId, name, now],
        )
      )[0]!.id,
    );
  const deadRun = await open(a.id, 'dead');
  await db.exec('INSERT INTO sync_locks (account_id, run_id, owner, heartbeat_at) VALUES (?, ?, ?, ?)', [
    a.id,
    deadRun,
    `${hostname()}:999999999`,
    now,
  ]);
  const noLease = await open(b.id, 'nolease');
  const liveRun = await open(c.id, 'live');
  await db.exec('INSERT INTO sync_locks (account_id, run_id, owner, heartbeat_at) VALUES (?, ?, ?, ?)', [
    c.id,
    liveRun,
    `${hostname()}:${process.pid}`,
    now,
  ]);
  const closed = await sync.closeAbandonedRuns();
  assert.deepEqual(closed.map((r) => r.id).sort(), [deadRun, noLease].sort());
  assert.ok(closed.every((r) => r.status === 'abandoned' && r.success === false && r.finishedAt));
  assert.equal((await sync.getRun(liveRun)).status, 'running');
  assert.equal((await db.query('SELECT * FROM sync_locks WHERE account_id = ?', [a.id])).length, 0);
});
