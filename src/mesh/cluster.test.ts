/**
 * Real hub processes meshed on loopback addresses (127.0.0.1 .. .4): a line, a ring, a full mesh,
 * caching across hubs, and TLS credentials. Short mesh timings come from SWITCHBOARD_MESH_TIMINGS.
 */
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createMessage } from '../core/message.js';
import { waitFor } from '../core/test/support.js';
import { LineService, startCluster, waitConverged, type HubProcess } from './test/cluster.js';
import { makeTestPki } from '../core/test/certs.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function keep<T extends { dispose?: () => Promise<void>; close?: () => void }>(x: T): T {
  cleanups.push(async () => {
    x.close?.();
    await x.dispose?.();
  });
  return x;
}

async function cluster(
  specs: Parameters<typeof startCluster>[0],
  options?: Parameters<typeof startCluster>[1],
): Promise<Map<string, HubProcess>> {
  const hubs = await startCluster(specs, options);
  for (const h of hubs.values()) keep(h);
  return hubs;
}

const isPing = (m: { command: string }): boolean => m.command === 'PING';

void describe('a line of three hubs A-B-C (A and C are not neighbors)', () => {
  let hubs: Map<string, HubProcess>;
  const hub = (n: string): HubProcess => hubs.get(n)!;

  void test('a service on A requests a service on C through B and gets the reply', async () => {
    hubs = await cluster([
      { name: 'a', ip: '127.0.0.1', neighbors: ['b'] },
      { name: 'b', ip: '127.0.0.2', neighbors: ['a', 'c'] },
      { name: 'c', ip: '127.0.0.3', neighbors: ['b'] },
    ]);
    const echo = keep(await LineService.register(hub('c').localUrl, 'echo'));
    const client = keep(await LineService.register(hub('a').localUrl, 'client'));
    await waitConverged(hubs.values(), (s) => s.hubs.some((h) => h.services.includes('echo')));
    const a = (await hub('a').status())!;
    const c = a.hubs.find((h) => h.name === 'c')!;
    assert.equal(c.nextHop, 'b', 'the route to C goes through B');
    assert.equal(c.distance, 2);
    assert.ok(!a.links.some((l) => l.server === 'c'), 'A has no link to C');

    client.to('echo', 'PING', { n: '7' });
    const ping = await echo.next(isPing);
    assert.deepEqual(ping.sentFrom, { server: 'a', service: 'client' });
    echo.send({ ...ping, to: ping.sentFrom, sentFrom: { server: '', service: '' }, command: 'PONG' });
    const pong = await client.next((m) => m.command === 'PONG');
    assert.equal(pong.params.n, '7');
    assert.deepEqual(pong.sentFrom, { server: 'c', service: 'echo' });

    // The neighbors given on the command line are kept in the data path.
    assert.match(
      readFileSync(join(hub('a').home, 'neighbors.txt'), 'utf8'),
      new RegExp(hub('b').remoteAddress.replace(/\./g, '\\.')),
    );
  });

  void test('the client library: a request from A is answered by a handler on C', async () => {
    const { connect } = await import('../client/index.js');
    const onC = await connect(hub('c').localUrl, { reconnect: false });
    const onA = await connect(hub('a').localUrl, { reconnect: false });
    cleanups.push(() => {
      onA.dispose();
      onC.dispose();
    });
    await onC.register('clock', { commands: ['TIME'] });
    onC.on('TIME', () => ({ command: 'NOW', params: { hub: 'c' } }));
    await onA.register('asker');
    await waitConverged(hubs.values(), (s) => s.hubs.some((h) => h.name === 'c' && h.services.includes('clock')));
    const reply = await onA.message('TIME').to('clock').request({ timeoutMs: 5000 });
    assert.equal(reply.command, 'NOW');
    assert.equal(reply.params.hub, 'c');
    assert.equal(reply.sentFrom.server, 'c');
  });

  void test('switchboard services lists the services of the whole cluster with their hub', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'services', '--json', '--address', hub('a').localUrl], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1' },
    });
    const list = JSON.parse(stdout) as { name: string; server: string }[];
    assert.ok(
      list.some((s) => s.name === 'echo' && s.server === 'c'),
      stdout,
    );
    assert.ok(
      list.some((s) => s.name === 'client' && s.server === 'a'),
      stdout,
    );
  });

  void test('a service on C is down; A sends with cache=ttl=30; it registers again and receives the message once', async () => {
    const store = await LineService.register(hub('c').localUrl, 'store');
    const sender = keep(await LineService.register(hub('a').localUrl, 'sender'));
    await waitConverged(hubs.values(), (s) => s.hubs.some((h) => h.services.includes('store')));
    store.close();
    await waitConverged(hubs.values(), (s) => !s.hubs.some((h) => h.services.includes('store')));
    sender.to('store', 'SAVE', { cache: 'ttl=30', key: 'k1', transmission_report: 'all' });
    const report = await sender.next((m) => m.command === 'TRANSMISSION_REPORT');
    assert.equal(report.params.status, 'cached');
    const again = keep(await LineService.register(hub('c').localUrl, 'store'));
    const saved = await again.next((m) => m.command === 'SAVE');
    assert.equal(saved.params.key, 'k1');
    assert.deepEqual(saved.sentFrom, { server: 'a', service: 'sender' });
    // A round trip through the same path after it: had a copy been on its way, it came first.
    sender.to('store', 'SAVE', { key: 'k2' });
    await again.next((m) => m.command === 'SAVE' && m.params.key === 'k2');
    assert.equal(
      again.count((m) => m.command === 'SAVE'),
      0,
      'k1 was delivered once',
    );
  });

  void test('cluster-status prints CLUSTER_UP and CLUSTER_COMPLETE', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'cluster-status', '--address', hub('b').localUrl], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1' },
    });
    assert.match(stdout, /CLUSTER_UP, CLUSTER_COMPLETE \(3 of 3 hubs reachable, quorum 2\)/);
  });

  void test('no route to C (B is down): A keeps cache=ttl messages for C and sends them when B is back; cache="no;reply" is answered', async () => {
    const box = keep(await LineService.register(hub('c').localUrl, 'box'));
    const from = keep(await LineService.register(hub('a').localUrl, 'from'));
    await waitConverged(hubs.values(), (s) => s.hubs.some((h) => h.services.includes('box')));
    await hub('b').kill();
    await waitFor(async () => (await hub('a').status())?.hubs.find((h) => h.name === 'c')?.reachable === false, {
      what: 'C unreachable from A',
    });
    from.to('box', 'KEEP', { cache: 'ttl=30', transmission_report: 'all' }, 'c');
    assert.equal((await from.next((m) => m.command === 'TRANSMISSION_REPORT')).params.status, 'cached');
    from.to('box', 'DROP', { cache: 'no;reply' }, 'c');
    const unavailable = await from.next((m) => m.command === 'SERVICE_UNAVAILABLE');
    assert.equal(unavailable.params.destination_service, 'box');
    assert.equal(unavailable.params.unsent_command, 'DROP');
    await hub('b').start();
    const kept = await box.next((m) => m.command === 'KEEP', 20_000);
    assert.deepEqual(kept.sentFrom, { server: 'a', service: 'from' });
    assert.equal(
      box.count((m) => m.command === 'DROP'),
      0,
    );
  });
});

void test('a ring of four: a stopped hub makes traffic take the long way; back, routes and tables converge', async (t) => {
  {
    const hubs = await cluster([
      { name: 'a', ip: '127.0.0.1', neighbors: ['b', 'd'] },
      { name: 'b', ip: '127.0.0.2', neighbors: ['a', 'c'] },
      { name: 'c', ip: '127.0.0.3', neighbors: ['b', 'd'] },
      { name: 'd', ip: '127.0.0.4', neighbors: ['c', 'a'] },
    ]);
    const hub = (n: string): HubProcess => hubs.get(n)!;
    const svc = keep(await LineService.register(hub('c').localUrl, 'svc'));
    const client = keep(
      await LineService.register(hub('a').localUrl, 'client', [
        'STATUS',
        'HANGUP',
        'CLUSTER_UP',
        'CLUSTER_DOWN',
        'CLUSTER_COMPLETE',
        'CLUSTER_INCOMPLETE',
      ]),
    );
    let bsvc = await LineService.register(hub('b').localUrl, 'bsvc');
    await waitConverged(hubs.values(), (s) => ['svc', 'bsvc'].every((n) => s.hubs.some((h) => h.services.includes(n))));
    assert.equal((await hub('a').status())!.hubs.find((h) => h.name === 'c')!.nextHop, 'b', 'ties go by name: via B');

    const killedAt = performance.now();
    bsvc.close();
    await hub('b').kill();
    // Locals hear that bsvc went down and the cluster is incomplete.
    await client.next((m) => m.command === 'STATUS' && m.params.service === 'bsvc' && m.params.status === 'down');
    await client.next((m) => m.command === 'CLUSTER_INCOMPLETE');
    const down = performance.now() - killedAt;
    assert.equal(
      (await client.next((m) => m.command === 'HANGUP')).params.server_name,
      'b',
      'a link lost without DISCONNECT is a HANGUP',
    );
    const a = (await hub('a').status())!;
    assert.equal(a.hubs.find((h) => h.name === 'c')!.nextHop, 'd', 'rerouted the long way');
    assert.equal(a.cluster.up, true, '3 of 4 is a quorum');
    client.to('svc', 'PING', { n: 'long-way' });
    assert.equal((await svc.next(isPing)).params.n, 'long-way');

    const restartedAt = performance.now();
    await hub('b').start();
    bsvc = keep(await LineService.register(hub('b').localUrl, 'bsvc'));
    await waitConverged(
      hubs.values(),
      (s) =>
        s.cluster.complete &&
        s.hubs.every((h) => h.reachable) &&
        s.hubs.some((h) => h.name === 'b' && h.services.includes('bsvc')),
    );
    const up = performance.now() - restartedAt;
    await client.next((m) => m.command === 'CLUSTER_COMPLETE');
    assert.equal((await hub('a').status())!.hubs.find((h) => h.name === 'c')!.nextHop, 'b', 'back on the short route');
    const { stdout } = await run(process.execPath, [BIN, 'cluster-status', '--json', '--address', hub('d').localUrl], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1' },
    });
    const st = JSON.parse(stdout) as { cluster: { up: boolean; complete: boolean; live: number } };
    assert.deepEqual([st.cluster.up, st.cluster.complete, st.cluster.live], [true, true, 4]);
    client.to('svc', 'PING', { n: 'short-way' });
    assert.equal((await svc.next(isPing)).params.n, 'short-way');
    t.diagnostic(
      `convergence: hub killed -> every hub rerouted and told its services in ${down.toFixed(0)} ms; restarted (process start included) -> all tables complete in ${up.toFixed(0)} ms`,
    );
  }
});

void test('a broadcast in a full mesh of four reaches each interested service exactly once', async () => {
  const names = ['a', 'b', 'c', 'd'];
  const hubs = await cluster(
    names.map((n, i) => ({ name: n, ip: `127.0.0.${i + 1}`, neighbors: names.filter((m) => m !== n) })),
  );
  const listeners = await Promise.all(
    names.map(async (n) => keep(await LineService.register(hubs.get(n)!.localUrl, `l_${n.toLowerCase()}`, ['HELLO']))),
  );
  const deaf = keep(await LineService.register(hubs.get('c')!.localUrl, 'deaf', ['OTHER']));
  const speaker = keep(await LineService.register(hubs.get('a')!.localUrl, 'speaker'));
  await waitConverged(
    hubs.values(),
    (s) => s.links.length === 3 && names.every((n) => s.hubs.some((h) => h.services.includes(`l_${n.toLowerCase()}`))),
  );
  speaker.to('*', 'HELLO', { round: '1' });
  for (const l of listeners) {
    const hello = await l.next((m) => m.command === 'HELLO');
    assert.equal(hello.params.round, '1');
    assert.deepEqual(hello.sentFrom, { server: 'a', service: 'speaker' });
    assert.ok(!('broadcast_msgid' in hello.params), 'the mesh bookkeeping is stripped');
  }
  // A second broadcast along the same links: any duplicate of the first would arrive before it.
  speaker.to('*', 'HELLO', { round: '2' });
  for (const l of listeners) assert.equal((await l.next((m) => m.command === 'HELLO')).params.round, '2');
  await new Promise((r) => setTimeout(r, 200));
  for (const l of listeners)
    assert.equal(
      l.count((m) => m.command === 'HELLO'),
      0,
      `${l.name} got a duplicate`,
    );
  assert.equal(
    deaf.count((m) => m.command === 'HELLO'),
    0,
    'a service without HELLO in COMMANDS gets nothing',
  );
  // `C:*/HELLO` is for the services of hub C only.
  speaker.to('*', 'HELLO', { round: '3' }, 'c');
  assert.equal((await listeners[2]!.next((m) => m.command === 'HELLO')).params.round, '3');
  speaker.to('*', 'HELLO', { round: '4' });
  for (const l of listeners)
    assert.equal((await l.next((m) => m.command === 'HELLO')).params.round, '4', `${l.name} got only round 4`);
});

// The mesh's own TLS listener (--remote-listen cds://, with mutual TLS) is covered in-process by
// mesh.test.ts; here the hub's --secure-listen hands hub links over to the mesh.
for (const mode of ['shared'] as const) {
  const where = "on the hub's --secure-listen";
  void test(`TLS links ${where}: wrong credentials three times block the address; right credentials link`, async () => {
    const pki = makeTestPki();
    cleanups.push(() => pki.cleanup());
    const tlsArgs = ['--certificate', pki.certificate, '--private-key', pki.privateKey];
    const opts = { secureCredentials: 'admin:s3cret' };
    const a = (
      await cluster([{ name: 'a', ip: '127.0.0.1', neighbors: [], secure: mode, extraArgs: tlsArgs }], opts)
    ).get('a')!;
    const b = (
      await cluster(
        [
          {
            name: 'b',
            ip: '127.0.0.2',
            neighbors: [],
            secure: mode,
            extraArgs: [...tlsArgs, '--neighbors', `cds://admin:wrong@${a.remoteAddress}`],
          },
        ],
        opts,
      )
    ).get('b')!;
    const st = await waitFor(async () => (await a.status())?.blocked.find((x) => x.address === '127.0.0.2'), {
      what: 'B blocked on A',
    });
    assert.equal(st.failures, 3);
    const { stdout } = await run(process.execPath, [BIN, 'cluster-status', '--address', a.localUrl], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1' },
    });
    assert.match(stdout, /blocked: 127\.0\.0\.2 until/);
    await cluster(
      [
        {
          name: 'c',
          ip: '127.0.0.3',
          neighbors: [],
          secure: mode,
          extraArgs: [...tlsArgs, '--neighbors', `cds://admin:s3cret@${a.remoteAddress}`],
        },
      ],
      opts,
    );
    await waitFor(async () => (await a.status())?.links.some((l) => l.server === 'c' && l.secure), {
      what: 'C linked to A over TLS',
    });
    assert.ok(!(await a.status())!.links.some((l) => l.server === 'b'), 'B stays blocked');
    assert.ok((await b.status())!.neighbors[0]!.state !== 'linked');
  });
}

void test('lifecycle: GOSSIP makes the larger address dial, FORGET drops a dead hub, STOP says DISCONNECT, restart reloads neighbors.txt, SHUTDOWN stops the cluster', async () => {
  // One user's hubs share the admin token (as they do under one $SWITCHBOARD_HOME): the SHUTDOWN
  // and FORGET its admin sends cross the plain links with its proof (src/trust/cluster-commands.ts).
  const shared = join(mkdtempSync(join(tmpdir(), 'sb-mesh-token-')), 'hub.token');
  const hubs = await cluster(
    [
      { name: 'a', ip: '127.0.0.1', neighbors: ['b'] }, // smaller than B: it can only GOSSIP to B
      { name: 'b', ip: '127.0.0.2', neighbors: [] },
      { name: 'c', ip: '127.0.0.3', neighbors: ['b'] },
    ],
    { extraArgs: ['--token-file', shared] },
  );
  const adminToken = readFileSync(shared, 'utf8').trim();
  const [a, b, c] = ['a', 'b', 'c'].map((n) => hubs.get(n)!) as [HubProcess, HubProcess, HubProcess];
  const notices = [
    'NEW_REMOTE_CONNECTION',
    'DISCONNECTED',
    'HANGUP',
    'CLUSTER_UP',
    'CLUSTER_DOWN',
    'CLUSTER_COMPLETE',
    'CLUSTER_INCOMPLETE',
  ];
  const watcher = keep(await LineService.register(a.localUrl, 'watcher', notices));
  await waitConverged(hubs.values());
  const ab = (await a.status())!.links.find((l) => l.server === 'b')!;
  assert.equal(ab.outgoing, false, 'B (the larger address) dialed A after its GOSSIP');
  assert.match(
    readFileSync(join(b.home, 'neighbors.txt'), 'utf8'),
    new RegExp(a.remoteAddress.replace(/\./g, '\\.')),
    'B learned A from the GOSSIP',
  );

  // C dies for good: the cluster is incomplete until C is forgotten everywhere.
  watcher.inbox.length = 0;
  await c.kill();
  await watcher.next((m) => m.command === 'CLUSTER_INCOMPLETE');
  watcher.inbox.length = 0;
  // FORGET, STOP and SHUTDOWN are the admin's: the token `switchboard hub` wrote in its home proves it.
  watcher.send(createMessage('AUTH', { token: adminToken }));
  watcher.send({
    sentFrom: { server: '', service: '' },
    to: { server: '', service: '' },
    command: 'FORGET',
    params: { ip: '127.0.0.3' },
  });
  const complete = await watcher.next((m) => m.command === 'CLUSTER_COMPLETE');
  assert.equal(complete.params.neighbors_count, '2');
  await waitFor(() => !readFileSync(join(b.home, 'neighbors.txt'), 'utf8').includes('127.0.0.3'), {
    what: 'B forgot C in neighbors.txt',
  });

  // STOP on B: its services hear DISCONNECTING, A's hear DISCONNECTED (not HANGUP).
  const onB = await LineService.register(b.localUrl, 'onb');
  watcher.inbox.length = 0;
  onB.send(createMessage('AUTH', { token: adminToken }));
  onB.send({ sentFrom: { server: '', service: '' }, to: { server: '', service: '' }, command: 'STOP', params: {} });
  await onB.next((m) => m.command === 'DISCONNECTING');
  assert.equal(await b.waitExit(), 0);
  const gone = await watcher.next((m) => m.command === 'DISCONNECTED');
  assert.equal(gone.params.server_name, 'b');
  assert.equal(
    watcher.count((m) => m.command === 'HANGUP'),
    0,
  );
  onB.close();

  // B comes back with no --neighbors: it finds A through neighbors.txt (B dials: larger address).
  await b.start();
  const again = await watcher.next((m) => m.command === 'NEW_REMOTE_CONNECTION', 15_000);
  assert.equal(again.params.server_name, 'b');

  // SHUTDOWN from a service on A: every hub of the cluster stops.
  watcher.send({
    sentFrom: { server: '', service: '' },
    to: { server: '', service: '' },
    command: 'SHUTDOWN',
    params: {},
  });
  assert.deepEqual(await Promise.all([a.waitExit(), b.waitExit()]), [0, 0]);
});

void test('refused configurations: plain links on 0.0.0.0 or a public address, a neighbor that is not an IP', async () => {
  const env = {
    ...process.env,
    SWITCHBOARD_FROM_SOURCE: '1',
    SWITCHBOARD_LOG_LEVEL: 'error',
    SWITCHBOARD_DATA_PATH: '/tmp/switchboard-mesh-refused',
  };
  const attempt = (args: string[]) =>
    run(
      process.execPath,
      [BIN, 'hub', '--server-name', 'x', '--local-listen', 'cd://127.0.0.1:0', '--signal', 'off', ...args],
      { env, timeout: 60_000 },
    ).then(
      () => {
        throw new Error(`the hub started with ${args.join(' ')}`);
      },
      (err: { code?: number; stderr?: string }) => err,
    );
  const [any, pub, name] = await Promise.all([
    attempt(['--remote-listen', 'cd://0.0.0.0:0']),
    attempt(['--remote-listen', 'cd://8.8.8.8:0']),
    attempt(['--remote-listen', 'cd://127.0.0.1:0', '--neighbors', 'hub.example.com:4042']),
  ]);
  assert.equal(any.code, 1);
  assert.match(any.stderr ?? '', /--remote-listen on 0\.0\.0\.0 is refused/);
  assert.match(pub.stderr ?? '', /public address 8\.8\.8\.8 is refused/);
  assert.match(name.stderr ?? '', /neighbors: "hub\.example\.com:4042" is not a hub address/);
});

void test("a second hub with a taken name cannot join through a hub that is not its namesake's neighbor", async () => {
  const hubs = await cluster([
    { name: 'x', ip: '127.0.0.2', neighbors: ['a'] },
    { name: 'a', ip: '127.0.0.3', neighbors: ['x', 'd'] },
    { name: 'd', ip: '127.0.0.4', neighbors: ['a'] },
  ]);
  await waitConverged(hubs.values());
  const d = hubs.get('d')!;
  const original = hubs.get('x')!.remoteAddress;
  // A misconfigured copy of X whose only neighbor is D (which has no direct link to the real X).
  const copy = await cluster([
    { name: 'x', ip: '127.0.0.5', neighbors: [], extraArgs: ['--neighbors', d.remoteAddress] },
  ]);
  const impostor = copy.get('x')!;
  await waitFor(
    async () => {
      const s = await impostor.status();
      return s?.neighbors.some((n) => /name conflict/.test(n.lastError ?? '')) ? s : undefined;
    },
    { timeoutMs: 15_000, what: 'the copy of X to be told its name is taken' },
  );
  const seen = (await d.status())!;
  assert.ok(!seen.links.some((l) => l.address === impostor.remoteAddress), 'D did not link the copy');
  assert.equal(
    seen.hubs.find((h) => h.name === 'x')?.address,
    original,
    'the cluster still knows X at its first address',
  );
  assert.equal((await impostor.status())!.links.length, 0);
});
