/** `switchboard hub`, `start` and `services` as a user runs them: child processes. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '../core/test/support.js';
import { parseAddress } from '../core/address.js';
import { LineClient } from './test/support.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const children: ChildProcess[] = [];

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_LOG_LEVEL: 'warn', ...env },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

void test('hub --help lists the flags; bad flags and values exit 1 with a sentence', async () => {
  const help = run(['hub', '--help']);
  assert.equal(await help.exit, 0);
  for (const flag of [
    '--server-name',
    '--local-listen',
    '--unix-listen',
    '--secure-listen',
    '--signal-secret',
    '--max-connections',
    '--config',
    'SWITCHBOARD_',
  ])
    assert.ok(help.stdout().includes(flag), flag);
  const unknown = run(['hub', '--no-such-flag']);
  assert.equal(await unknown.exit, 1);
  assert.match(unknown.stderr(), /unknown option '--no-such-flag'/);
  const bad = run(['hub', '--max-connections', '2']);
  assert.equal(await bad.exit, 1);
  assert.match(
    bad.stderr(),
    /switchboard: INVALID_CONFIG: max_connections must be at least 5: got "2" \(from --max-connections\)/,
  );
  const env = run(['hub'], { SWITCHBOARD_LOCAL_LISTEN: 'cd://8.8.8.8:4040' });
  assert.equal(await env.exit, 1);
  assert.match(env.stderr(), /local_listen must be a loopback address .*SWITCHBOARD_LOCAL_LISTEN/);
});

void test('start prints its addresses under SWITCHBOARD_HOME, serves TCP and the Unix socket, lists services, and STOP ends it', async () => {
  const home = await tempDir();
  try {
    const hub = run(['start', '--local-listen', 'cd://127.0.0.1:0', '--signal', 'off', '--server-name', 'clitest'], {
      SWITCHBOARD_HOME: home.path,
    });
    await waitFor(() => /is running/.test(hub.stdout()) || hub.child.exitCode !== null, {
      what: `start to print its addresses (${hub.stderr()})`,
      timeoutMs: 30_000,
    });
    const out = hub.stdout();
    const local = /local\s+(cd:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const unix = /unix\s+(cd:\/\/\S+)/.exec(out)?.[1];
    assert.ok(local, out);
    assert.equal(unix, `cd://${join(home.path, 'hub.sock')}`);
    assert.ok(existsSync(join(home.path, 'hub.sock')));
    const port = parseAddress(local).port;

    const svc = await LineClient.register(port, 'cli_svc', ';commands=PING');
    const viaUnix = await LineClient.connect(join(home.path, 'hub.sock'));
    viaUnix.send('cli_svc/PING from=unix');
    assert.equal((await svc.next('PING')).params.from, 'unix');

    const table = run(['services', '--address', local]);
    assert.equal(await table.exit, 0, table.stderr());
    assert.match(table.stdout(), /SERVICE\s+HUB\s+STATUS/);
    assert.match(table.stdout(), /cli_svc\s+clitest\s+up\s+cli_svc#1/);
    const json = run(['services', '--json'], { SWITCHBOARD_ADDRESS: `cd://${join(home.path, 'hub.sock')}` });
    assert.equal(await json.exit, 0, json.stderr());
    const list = JSON.parse(json.stdout()) as { name: string; instances: { commands: string[] }[] }[];
    assert.deepEqual(list.find((s) => s.name === 'cli_svc')?.instances[0]?.commands, ['PING']);

    viaUnix.send('STOP');
    await svc.next('DISCONNECTING');
    assert.equal(await hub.exit, 0);
    assert.match(hub.stdout(), /stopped \(STOP from/);
    svc.close();
    viaUnix.close();

    const down = run(['services', '--address', local, '--timeout', '1000']);
    assert.equal(await down.exit, 1);
    assert.match(down.stderr(), /switchboard: CONNECTION_FAILED: cannot connect to .*is the hub running/);
  } finally {
    await home.cleanup();
  }
});

void test('hub stops cleanly on SIGTERM', async () => {
  const hub = run(['hub', '--local-listen', 'cd://127.0.0.1:0', '--signal', 'cdu://127.0.0.1:0', '--json']);
  await waitFor(() => /^\{.*\}\n/m.test(hub.stdout()) || hub.child.exitCode !== null, {
    what: `the hub to start (${hub.stderr()})`,
    timeoutMs: 30_000,
  });
  const info = JSON.parse(hub.stdout().split('\n')[0]!) as { addresses: { name: string; url: string }[] };
  assert.deepEqual(
    info.addresses.map((a) => a.name),
    ['local', 'signal'],
  );
  hub.child.kill('SIGTERM');
  assert.equal(await hub.exit, 0);
  assert.match(hub.stdout(), /stopped \(SIGTERM\)/);
});

void test('a hub whose stdout reader went away still stops on the first SIGTERM, exit 0', async () => {
  const hub = run(['hub', '--local-listen', 'cd://127.0.0.1:0', '--signal', 'off', '--json']);
  await waitFor(() => /^\{.*\}\n/m.test(hub.stdout()) || hub.child.exitCode !== null, {
    what: `the hub to start (${hub.stderr()})`,
    timeoutMs: 30_000,
  });
  const local = (JSON.parse(hub.stdout().split('\n')[0]!) as { addresses: { url: string }[] }).addresses[0]!.url;
  // The reader of its stdout goes away (`switchboard hub | head -1`): the next line it prints gets EPIPE.
  hub.child.stdout!.destroy();
  const c = await LineClient.connect(parseAddress(local).port);
  c.send('ALIVE serial=1');
  await c.next('ABSOLUTELY');
  hub.child.kill('SIGTERM');
  assert.equal(await hub.exit, 0, `exit code; stderr: ${hub.stderr()}`);
  assert.doesNotMatch(hub.stderr(), /EPIPE/);
  c.close();
});
