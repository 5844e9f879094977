// Interop with the real HashiCorp go-plugin library (Debian's v1.0.1), both ways:
// a Go connector under Switchboard's host, and a Go host launching the TypeScript SDK connector.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../../core/test/support.js';
import { runConnector } from '../goplugin/index.js';
import { ConnectorSyncError, PageRejectedError, PluginExitedError } from '../goplugin/errors.js';
import type { DataObject } from '../goplugin/types.js';
import { buildGoProgram, goMissing, needGo } from '../test/go-build.js';

const execFileAsync = promisify(execFile);
const work = await tempDir('sb-go-interop-');
after(() => work.cleanup());

let connectorBinary = '';
let hostBinary = '';
before(
  async () => {
    if (await goMissing()) return;
    // Both builds share Go's build cache; the second is quick.
    connectorBinary = await buildGoProgram('go-interop');
    hostBinary = await buildGoProgram('go-host');
  },
  { timeout: 170_000 },
);

async function runGo(options: Record<string, unknown>, extra: { autoMTLS?: boolean } = {}) {
  const pages: DataObject[][] = [];
  const result = runConnector({
    command: `"${connectorBinary}"`,
    cwd: work.path,
    options: JSON.stringify(options),
    onPage: async (o) => {
      pages.push(o);
    },
    onLog: () => {},
    ...extra,
  });
  return { result, pages };
}

void test('a Go connector built with go-plugin runs under the host: all pages land', async (t) => {
  if (!(await needGo(t))) return;
  const { result, pages } = await runGo({ pages: 25, perPage: 40 });
  assert.deepEqual(await result, { metadata: '{"pages":25,"perPage":40}', pages: 25, objects: 1000, checkpoints: 0 });
  assert.equal(pages.length, 25);
  assert.ok(pages.every((p) => p.length === 40));
  assert.equal(pages[24]![39]!.remoteId, 'go-24-39');
  assert.equal(pages[0]![1]!.uri, 'go://0/1');
  assert.equal(new Set(pages.flat().map((o) => o.remoteId)).size, 1000);
});

void test('AutoMTLS with a go-plugin v1.0.1 connector: the main connection works; its broker dial cannot', async (t) => {
  if (!(await needGo(t))) return;
  // The handshake certificate, our client certificate and the Sync call over mutual TLS:
  const plain = await runGo({ noCallback: true }, { autoMTLS: true });
  assert.deepEqual(await plain.result, { metadata: '{"callback":false}', pages: 0, objects: 0, checkpoints: 0 });
  // go-plugin v1.0.1's plugin side dials brokered listeners with its server TLS config (no root
  // CA, no server name), so it cannot verify any host's certificate; later versions fixed it.
  const brokered = await runGo({ pages: 1 }, { autoMTLS: true });
  await assert.rejects(
    brokered.result,
    (err: unknown) => err instanceof ConnectorSyncError && /authentication handshake failed/.test(err.message),
  );
});

void test('a Go connector whose Sync fails, or that exits mid-sync, gives typed errors', async (t) => {
  if (!(await needGo(t))) return;
  const failing = await runGo({ pages: 5, failAfter: 2 });
  await assert.rejects(
    failing.result,
    (err: unknown) => err instanceof ConnectorSyncError && /503 on page 3/.test(err.message),
  );
  assert.equal(failing.pages.length, 2);
  const exiting = await runGo({ pages: 5, exitAfter: 3 });
  await assert.rejects(
    exiting.result,
    (err: unknown) =>
      err instanceof PluginExitedError && err.exitCode === 3 && /the source went away/.test(err.stderrTail),
  );
  assert.equal(exiting.pages.length, 3);
});

void test('a Go connector sending an object without remote id: the page is rejected by name', async (t) => {
  if (!(await needGo(t))) return;
  const { result, pages } = await runGo({ pages: 3, perPage: 4, missingRemoteId: true });
  await assert.rejects(
    result,
    (err: unknown) =>
      err instanceof PageRejectedError &&
      /object 2 of page 1 has no remote_id \(resource_name "Go object 0\/1"\)/.test(err.message),
  );
  assert.equal(pages.length, 0);
});

const sdkConnector = fileURLToPath(new URL('../goplugin/fixtures/behaving-connector.ts', import.meta.url));
const sdkCommand = `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${sdkConnector}"`;

async function goHost(options: Record<string, unknown>, mtls: boolean): Promise<Record<string, unknown>[]> {
  const args = [...(mtls ? ['-mtls'] : []), '-options', JSON.stringify(options), '-command', sdkCommand];
  const { stdout } = await execFileAsync(hostBinary, args, { cwd: work.path, timeout: 60_000 });
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

void test('a Go host built with go-plugin launches the TypeScript SDK connector and gets its pages through the broker', async (t) => {
  if (!(await needGo(t))) return;
  const lines = await goHost({ pages: 3, perPage: 7, metadata: 'from-ts' }, false);
  assert.deepEqual(lines, [
    { page: 1, objects: 7, first: 'obj-0-0' },
    { page: 2, objects: 7, first: 'obj-1-0' },
    { page: 3, objects: 7, first: 'obj-2-0' },
    { metadata: 'from-ts', pages: 3, objects: 21 },
  ]);
});

void test('the Go host with AutoMTLS: the SDK answers with its certificate and dials the brokered callback over TLS', async (t) => {
  if (!(await needGo(t))) return;
  const lines = await goHost({ pages: 2, perPage: 3 }, true);
  assert.deepEqual(lines.at(-1), { metadata: 'done:2', pages: 2, objects: 6 });
});

void test("the Go host sees the SDK connector's Sync error", async (t) => {
  if (!(await needGo(t))) return;
  await assert.rejects(goHost({ pages: 3, failAfter: 1 }, false), (err: unknown) => {
    const out = (err as { stdout?: string }).stdout ?? '';
    assert.match(out, /"error":"rpc error: code = Unknown desc = the source answered 503 on page 2"/);
    return true;
  });
});

void test("the benchmark's Go connector is the TypeScript one's twin: the same objects in a full sync and in a re-sync from its state", async (t) => {
  if (!(await needGo(t))) return;
  const goBench = await buildGoProgram('go-bench');
  const tsBench = fileURLToPath(new URL('../../../bench/sync-ingest/connector.ts', import.meta.url));
  const commands = {
    go: `"${goBench}"`,
    ts: `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${tsBench}"`,
  };
  const sync = async (command: string, version: number, state?: string) => {
    const pages: DataObject[][] = [];
    const states: string[] = [];
    let cleaned = 0;
    const result = await runConnector({
      command,
      cwd: work.path,
      options: JSON.stringify({ pages: 3, perPage: 100, version }),
      ...(state ? { state } : {}),
      onPage: async (o) => {
        pages.push(o);
      },
      onCheckpoint: async (s) => {
        states.push(s);
      },
      onClean: async () => {
        cleaned++;
      },
      onLog: () => {},
    });
    return { pages, states, cleaned, objects: result.objects };
  };
  // 300 objects, each version changing 1% of them (3): a re-sync sends 3 per version since its state.
  for (const [version, state, objects] of [
    [1, undefined, 300],
    [2, '{"version":1}', 3],
    [7, '{"version":4}', 9],
  ] as const) {
    const [go, ts] = [await sync(commands.go, version, state), await sync(commands.ts, version, state)];
    assert.deepEqual(go.pages, ts.pages, `version ${version}${state ? ` from ${state}` : ''}: the same pages`);
    assert.equal(go.objects, objects);
    assert.deepEqual(go.states, [`{"version":${version}}`]);
    assert.deepEqual(
      ts.states.map((s) => JSON.parse(s) as unknown),
      [{ version }],
    );
    assert.equal(go.cleaned, state ? 0 : 1, 'a full refresh cleans, a re-sync does not');
    assert.equal(ts.cleaned, go.cleaned);
  }
});
