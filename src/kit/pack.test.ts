/**
 * The package as an outsider gets it: `npm pack` of this checkout, `npm install <tarball>` into an
 * empty project (the registry for the dependencies, nothing else from the network), then what an
 * outsider does with it: import `switchboard`, `switchboard/sync`, `switchboard/sync/sdk` and `switchboard/dispatch` from
 * an ES module and run them (a hub client, a connector under the host), the CLI through npx, a
 * TypeScript connector made with `npx switchboard connector new` against the installed package,
 * and the Python client from the package's files.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, portOpen, tempDir, waitFor } from '../core/test/support.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `command` with sh; `signal` (the test's) stops it when the test is cancelled. */
async function sh(
  command: string,
  cwd: string,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return run('sh', ['-c', command], cwd, signal, env);
}

async function run(
  file: string,
  args: string[],
  cwd: string,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const command = [file, ...args].join(' ');
  try {
    const { stdout } = await exec(file, args, { cwd, env, signal, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed in ${cwd}:\n${e.stderr ?? ''}\n${e.stdout ?? ''}\n${e.message}`);
  }
}

/** An ES module using the package by its public names, as a user's program would. */
const APP = `
import { connect } from 'switchboard';
import { runConnector } from 'switchboard/sync';
import { hello } from 'switchboard/dispatch';

const clock = await connect(process.env.HUB);
clock.on('TIME', () => ({ command: 'NOW', params: { epoch: 42 } }));
await clock.register('clock');
const caller = await connect(process.env.HUB);
await caller.register('caller');
const reply = await caller.request({ command: 'TIME', to: 'clock' }, { timeoutMs: 10000 });

const pages = [];
const { metadata } = await runConnector({
  command: JSON.stringify(process.execPath) + ' connector.mjs',
  cwd: process.cwd(),
  options: '{"count": 3}',
  onPage: async (objects) => { pages.push(objects.map((o) => o.remoteId)); },
  onLog: () => {},
});
clock.dispose();
caller.dispose();
console.log(JSON.stringify({ reply: reply.params, pages, metadata, hello: typeof hello }));
`;

const CONNECTOR = `
import { serveConnector } from 'switchboard/sync/sdk';
await serveConnector({
  options: { parse: (o) => ({ count: Number(o.count) }) },
  async sync({ count }, { upsert }) {
    for (let i = 0; i < count; i++) await upsert([{ remoteId: 'item-' + i, metadata: { i } }]);
    return { sent: count };
  },
});
`;

const PYTHON = `
import os, sys
from switchboard import connect
hub = connect(os.environ["HUB"])
hub.register("py_from_package")
services = [s["name"] for s in hub.list_services(timeout=10) if s["status"] == "up"]
hub.close()
print(",".join(sorted(services)))
`;

/**
 * better-sqlite3's install fetches its binary from GitHub; a machine that reaches only the npm
 * registry builds it with node-gyp instead, minutes for each of the two installs below. The binary
 * this checkout built for the same version is offered as a local prebuild (prebuild-install's
 * `local_prebuilds`), so the install scripts still run; when the project resolves another version,
 * the name does not match and it is built as before (JOBS: with every core).
 */
async function localPrebuilds(dir: string, signal: AbortSignal): Promise<NodeJS.ProcessEnv> {
  const module = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(await readFile(join(module, 'package.json'), 'utf8')) as { version: string };
  const prebuilds = join(dir, 'prebuilds');
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await sh(`mkdir -p ${JSON.stringify(prebuilds)}`, dir, signal);
  await run('tar', ['-czf', join(prebuilds, name), '-C', module, 'build/Release/better_sqlite3.node'], dir, signal);
  return { npm_config_better_sqlite3_local_prebuilds: prebuilds };
}

void test('npm pack installs into an empty project and works there', async (t) => {
  if (!existsSync(join(ROOT, 'dist', 'client', 'index.js')))
    throw new Error('dist/ is missing: run `npm run build` (npm install does) before this test');
  const tmp = await tempDir('switchboard-pack-');
  t.after(tmp.cleanup);

  // --ignore-scripts: pack the dist/ this checkout built, without rebuilding it under the other tests' feet.
  const packed = JSON.parse(
    await sh(`npm pack --ignore-scripts --json --pack-destination ${JSON.stringify(tmp.path)}`, ROOT, t.signal),
  ) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const needed of [
    'bin/switchboard.js',
    'dist/client/index.js',
    'dist/sync/index.d.ts',
    'dist/sync/proto/connector.proto',
    'dist/kit/templates/connector-ts/manifest.json',
    'dist/kit/templates/connector-ts/src/main.test.ts.tmpl',
    'dist/kit/templates/connector-go/build.sh',
    'src/client/python/switchboard/client.py',
  ])
    assert.ok(files.includes(needed), `the tarball holds ${needed}`);
  assert.ok(
    !files.some((f) => f.includes('node_modules/') || f.includes('__pycache__')),
    'no installed or cached files',
  );

  const project = join(tmp.path, 'project');
  await sh(`mkdir project && cd project && npm init -y >/dev/null && npm pkg set type=module`, tmp.path, t.signal);
  const install = { ...process.env, ...(await localPrebuilds(tmp.path, t.signal)), JOBS: 'max' };
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', join(tmp.path, packed[0]!.filename)],
    project,
    t.signal,
    install,
  );

  const port = await freePort();
  const hubUrl = `cd://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...install, HUB: hubUrl, SWITCHBOARD_HOME: join(tmp.path, 'home') };
  delete env.SWITCHBOARD_FROM_SOURCE;
  // The installed bin itself (what npx runs), so that killing it stops the hub.
  const hub: ChildProcess = spawn(
    join(project, 'node_modules', '.bin', 'switchboard'),
    ['hub', '--local-listen', hubUrl, '--signal', 'off', '--unix-listen', 'off'],
    { cwd: project, env, stdio: 'ignore' },
  );
  t.after(() => {
    hub.kill();
  });
  await waitFor(() => portOpen(port), { timeoutMs: 60_000, what: 'the hub from the installed package' });

  await writeFile(join(project, 'app.mjs'), APP);
  await writeFile(join(project, 'connector.mjs'), CONNECTOR);
  const result = JSON.parse(await sh('node app.mjs', project, t.signal, env)) as {
    reply: { epoch: string };
    pages: string[][];
    metadata: string;
    hello: string;
  };
  assert.equal(result.reply.epoch, '42');
  assert.deepEqual(result.pages, [['item-0'], ['item-1'], ['item-2']]);
  assert.deepEqual(JSON.parse(result.metadata), { sent: 3 });
  assert.equal(result.hello, 'function');

  // The CLI and a template, from the installed package: the TS connector builds against its types and passes its test.
  const made = await sh('npx switchboard connector new demo --lang ts', project, t.signal, env);
  assert.match(made, /created .*demo \(connector, ts\)/);
  const pkg = JSON.parse(await readFile(join(project, 'demo', 'package.json'), 'utf8')) as {
    dependencies: { switchboard: string };
  };
  assert.match(pkg.dependencies.switchboard, /^file:vendor\/switchboard-[\d.]+\.tgz$/);
  await sh('npm install --no-audit --no-fund && npm test', join(project, 'demo'), t.signal, env);

  // The Python client, from the package's files.
  const python = join(project, 'node_modules', 'switchboard', 'src', 'client', 'python');
  await writeFile(join(project, 'client.py'), PYTHON);
  const services = await sh('python3 client.py', project, t.signal, {
    ...env,
    PYTHONPATH: python,
    PYTHONDONTWRITEBYTECODE: '1',
  });
  assert.equal(services.trim(), 'py_from_package');
});
