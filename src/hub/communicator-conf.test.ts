/**
 * The communicator daemon's own configuration file runs the hub: `fixtures/communicator/
 * communicatord.conf` has every key of the daemon's sample file in its value forms; the tests
 * move its ports and paths to temporary ones (nothing else) and talk to the hub it starts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseAddress } from '../core/address.js';
import { SwitchboardError } from '../core/errors.js';
import { tempDir, waitFor } from '../core/test/support.js';
import { makeTestPki } from '../core/test/certs.js';
import { groupId, loadConfig } from './config.js';
import { Hub } from './hub.js';
import { LineClient, sendDatagram } from './test/support.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/communicator/communicatord.conf', import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

/**
 * The fixture with its ports moved to free ones (port 0) and its paths into `dir`; every other
 * byte is the fixture's. Returns the file's path.
 */
function movedConf(dir: string, file = join(dir, 'communicatord.conf')): string {
  const pki = makeTestPki();
  cleanups.push(() => pki.cleanup());
  mkdirSync(join(dir, 'services'), { recursive: true });
  writeFileSync(join(dir, 'services', 'mail.service'), '');
  const moves: [string, string][] = [
    ['127.0.0.1:4040', '127.0.0.1:0'],
    ['127.0.0.1:4041', '127.0.0.1:0'],
    ['127.0.0.1:4042', '127.0.0.1:0'],
    ['/var/lib/communicator', join(dir, 'data')],
    ['/usr/share/communicator/services', join(dir, 'services')],
    ['/etc/communicator/keys/communicatord.crt', pki.certificate],
    ['/etc/communicator/keys/communicatord.key', pki.privateKey],
  ];
  let text = readFileSync(FIXTURE, 'utf8');
  for (const [from, to] of moves) {
    // Only the active lines move (the comments keep the daemon's defaults).
    const re = new RegExp(`^([a-z_]+=)${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
    assert.match(text, re, `the fixture sets ${from}`);
    text = text.replace(re, `$1${to}`);
  }
  writeFileSync(file, text);
  return file;
}

interface Banner {
  server: string;
  addresses: { name: string; url: string }[];
  notes?: string[];
}

function spawnHub(home: string, args: string[]) {
  const child = spawn(process.execPath, [BIN, 'hub', ...args, '--json'], {
    env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_LOG_LEVEL: 'warn', SWITCHBOARD_HOME: home },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const banner = (async (): Promise<Banner> => {
    await waitFor(() => /^\{.*\}\n/m.test(out) || child.exitCode !== null, {
      what: 'the hub to print its addresses',
      timeoutMs: 30_000,
    });
    if (!/^\{.*\}\n/m.test(out)) throw new Error(`the hub did not start:\n${err}`);
    return JSON.parse(out.split('\n')[0]!) as Banner;
  })();
  return { child, banner, exit, stderr: () => err };
}

void test("the daemon's communicatord.conf (ports and paths moved) runs a hub a raw client talks to", async () => {
  const dir = await tempDir('sb-communicatord-');
  cleanups.push(dir.cleanup);
  const hub = spawnHub(join(dir.path, 'home'), ['--config', movedConf(dir.path)]);
  const banner = await hub.banner;
  const url = (name: string) => banner.addresses.find((a) => a.name === name)?.url ?? '';
  assert.deepEqual(banner.addresses.map((a) => a.name).sort(), ['local', 'mesh', 'signal']);
  assert.ok(
    banner.notes?.some((n) => /remote_listen 127\.0\.0\.1:\d+ is a loopback address/.test(n)),
    'the loopback remote_listen is a note, not a refusal',
  );
  const port = parseAddress(url('local')).port;

  // A message for `mail` (known from services/mail.service) waits for it.
  const caller = await LineClient.register(port, 'caller');
  caller.send('mail/NOTE n=1');
  const mail = await LineClient.connect(port);
  mail.send('REGISTER service=mail;version=1');
  assert.equal((await mail.next(() => true)).command, 'HELP');
  const ready = await mail.next('READY');
  assert.equal(ready.params.my_address, `127.0.0.1:${port}`);
  mail.send('COMMANDS list=NOTE,PING,STATUS');
  const note = await mail.next('NOTE');
  assert.equal(note.params.n, '1');
  assert.equal(note.sentFrom.service, 'caller');

  caller.send('ALIVE serial=7;timestamp=1');
  assert.equal((await caller.next('ABSOLUTELY')).params.serial, '7');
  caller.send('CLUSTER_STATUS');
  assert.equal((await caller.next('CLUSTER_UP')).params.neighbors_count, '1');
  assert.equal((await caller.next('CLUSTER_COMPLETE')).params.neighbors_count, '1');

  // The signal port takes datagrams (signal_secret is empty in the file: no code needed).
  assert.equal(await sendDatagram(parseAddress(url('signal')).port, 'mail/PING from=udp', 0), undefined);
  assert.equal((await mail.next('PING')).params.from, 'udp');

  // STOP is the admin's: the hub's admin token (written under SWITCHBOARD_HOME) proves it.
  caller.send(`AUTH token=${readFileSync(join(dir.path, 'home', 'hub.token'), 'utf8').trim()}`);
  caller.send('STOP');
  assert.equal((await mail.next('DISCONNECTING')).command, 'DISCONNECTING');
  assert.equal(await hub.exit, 0, hub.stderr());
  caller.close();
  mail.close();
});

void test('communicator.d/*.conf overrides are merged in name order; every key of the file takes its forms', async () => {
  const dir = await tempDir('sb-communicatord-');
  cleanups.push(dir.cleanup);
  const file = movedConf(dir.path);
  const overrides = join(dir.path, 'communicator.d');
  mkdirSync(overrides);
  // The keys the sample leaves commented out, in the forms its comments give them.
  writeFileSync(
    join(overrides, '50-communicatord.conf'),
    [
      '# ours',
      'server_name=Front-1.example.com',
      'debug_all_messages=on',
      `unix_listen=${join(dir.path, 'run', 'communicatord.sock')}`,
      'signal_secret=s3cret',
      'max_connections=50',
      'max_pending_connections=2000',
      'neighbors=10.0.0.5, 10.0.0.13:4040',
      'max_gossip_timeout=3600',
      'secure_listen=',
      '',
    ].join('\n'),
  );
  writeFileSync(join(overrides, '35-communicatord.conf'), 'max_connections=40\nmax_gossip_timeout=1h\n');
  writeFileSync(join(overrides, '90-zz.conf'), 'max_gossip_timeout=1h 30m\n');
  writeFileSync(join(overrides, 'README'), 'not a .conf file: not read\n');
  const c = loadConfig({ env: {}, flags: { config: file } });
  assert.equal(c.serverName, 'front_1', 'lower case, "-" -> "_", before the first "."');
  assert.equal(c.myAddress, '127.0.0.1');
  assert.match(c.localListen ?? '', /^cd:\/\/127\.0\.0\.1:0$/);
  assert.match(c.signal ?? '', /^cdu:\/\/127\.0\.0\.1:0$/);
  assert.match(c.remoteListen ?? '', /^cd:\/\/127\.0\.0\.1:0$/);
  assert.equal(c.unixListen, `cd://${join(dir.path, 'run', 'communicatord.sock')}`);
  assert.equal(c.secureListen, null, 'an empty secure_listen is off');
  assert.equal(c.signalSecret, 's3cret');
  assert.equal(c.maxConnections, 50, '50- comes after 35-');
  assert.equal(c.maxPendingConnections, 1000, 'clamped to 5..1000 as the communicator does');
  assert.ok(c.notes.some((n) => /max_pending_connections 2000 is clamped to 1000/.test(n)));
  assert.deepEqual(c.neighbors, ['10.0.0.5', '10.0.0.13:4040']);
  assert.equal(c.maxGossipTimeoutMs, 5_400_000, '90-zz.conf is read last');
  assert.equal(c.debugAllMessages, true);
  assert.deepEqual(c.services, ['mail']);
  assert.equal(c.dataPath, join(dir.path, 'data'));

  // `<name>.d/` works beside any file name, JSON overrides included.
  const other = join(dir.path, 'hub.conf');
  writeFileSync(other, 'local_listen=127.0.0.1:0\nsignal=off\nserver_name=Alpha\n');
  mkdirSync(join(dir.path, 'hub.d'));
  writeFileSync(join(dir.path, 'hub.d', '10-name.conf'), '{"server_name": "beta-2"}');
  assert.equal(loadConfig({ env: {}, flags: { config: other } }).serverName, 'beta_2');

  const bad = (text: string, re: RegExp) => {
    writeFileSync(join(overrides, '95-bad.conf'), text);
    assert.throws(
      () => loadConfig({ env: {}, flags: { config: file } }),
      (e) => e instanceof SwitchboardError && e.code === 'INVALID_CONFIG' && re.test(e.message),
    );
  };
  bad('max_gossip_timeout=soon\n', /max_gossip_timeout must be a duration.*95-bad\.conf/);
  bad('my_address=10.254.254.253\n', /my_address is not an address of this machine/);
  bad('unix_group=no-such-group-here\n', /unix_group no-such-group-here names no group of this machine.*95-bad\.conf/);
  bad('user_name=communicator\n', /95-bad\.conf: user_name: the communicator drops its privileges/);
  bad('colour=blue\n', /unknown key "colour"/);
  writeFileSync(join(overrides, '95-bad.conf'), 'communicator_plugin_paths=/usr/lib/communicator/plugins\n');
  assert.ok(
    loadConfig({ env: {}, flags: { config: file } }).notes.some((n) =>
      /communicator_plugin_paths .*is ignored/.test(n),
    ),
  );
});

void test('unix_group gives the Unix socket to that group with mode 0660; without it the socket is 0600', async () => {
  const dir = await tempDir('sb-unixgroup-');
  cleanups.push(dir.cleanup);
  // A group this process may hand the socket to: any group as root, else one of our own.
  const groups = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]!));
  const mine = new Set(process.getgroups?.() ?? []);
  const pick =
    groups.find((f) => Number(f[2]) !== process.getgid?.() && (process.getuid?.() === 0 || mine.has(Number(f[2])))) ??
    groups.find((f) => Number(f[2]) === process.getgid?.());
  assert.ok(pick, 'a group to give the socket to');
  const [name, , gid] = pick;
  assert.equal(groupId(name!), Number(gid));
  const start = async (sock: string, group?: string) =>
    new Hub(
      loadConfig({
        env: {},
        flags: {
          localListen: 'off',
          signal: 'off',
          unixListen: sock,
          dataPath: dir.path,
          ...(group ? { unixGroup: group } : {}),
        },
      }),
    ).start();
  const withGroup = await start(join(dir.path, 'g.sock'), name);
  const owner = await start(join(dir.path, 'o.sock'));
  try {
    const g = statSync(join(dir.path, 'g.sock'));
    assert.equal(g.mode & 0o777, 0o660);
    assert.equal(g.gid, Number(gid));
    assert.equal(statSync(join(dir.path, 'o.sock')).mode & 0o777, 0o600);
    const c = await LineClient.connect(join(dir.path, 'g.sock'));
    c.send('ALIVE');
    await c.next('ABSOLUTELY');
    c.close();
  } finally {
    await withGroup.stop();
    await owner.stop();
  }
});

void test('debug_all_messages logs every message the hub routes', async () => {
  const dir = await tempDir('sb-debugall-');
  cleanups.push(dir.cleanup);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const hub = await new Hub(
    loadConfig({
      env: {},
      flags: { localListen: 'cd://127.0.0.1:0', signal: 'off', dataPath: dir.path, debugAllMessages: 'on' },
    }),
    { log: pino({ level: 'info' }, sink) },
  ).start();
  try {
    const port = parseAddress(hub.addresses[0]!.url).port;
    const echo = await LineClient.register(port, 'echo');
    const caller = await LineClient.register(port, 'caller');
    caller.send('echo/PING n=1');
    await echo.next('PING');
    await waitFor(() => lines.some((l) => l.includes('echo/PING n=1')), { what: 'the PING in the log' });
    const logged = JSON.parse(lines.find((l) => l.includes('echo/PING n=1'))!) as Record<string, unknown>;
    assert.equal(logged.outcome, 'delivered');
    assert.deepEqual(logged.deliveredTo, ['echo#1']);
    assert.ok(
      lines.some((l) => l.includes('READY')),
      'what the hub sends is logged too',
    );
    // Tokens in what is routed (DISPATCH carries an agent's sbt_ token in its body) never reach the log.
    caller.send(
      `echo/DISPATCH message=${JSON.stringify({ token: 'sbt_agenttokenvalue', kind: 'webhook' })};body={"password":"pw-in-json","note":"see sbh_admintokenvalue"}`,
    );
    await echo.next('DISPATCH');
    await waitFor(() => lines.some((l) => l.includes('DISPATCH')), { what: 'the DISPATCH in the log' });
    const dispatch = lines.find((l) => l.includes('DISPATCH'))!;
    assert.doesNotMatch(dispatch, /agenttokenvalue|pw-in-json|admintokenvalue/);
    assert.match(dispatch, /webhook/, 'the rest of the message is logged');
    echo.close();
    caller.close();
  } finally {
    await hub.stop();
  }
});
