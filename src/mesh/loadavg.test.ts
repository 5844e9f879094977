/**
 * The load-average exchange: its rules with a manual clock, then three real hubs in a line A-B-C
 * over loopback, where A listens to C's load through B and a service on A reads it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage, type Message } from '../core/message.js';
import { namesHub, parseListenedHubs, readLoadAvg } from '../core/protocol/index.js';
import { getLogger } from '../core/log.js';
import { freePort, tempDir, waitFor } from '../core/test/support.js';
import type { Hub } from '../hub/hub.js';
import { LineClient, hubPort, startTestHub } from '../hub/test/support.js';
import { ManualClock } from './clock.js';
import { MeshLoadAvg, type ReachableHub } from './loadavg.js';
import { Mesh } from './mesh.js';
import { FAST_TIMINGS } from './timings.js';

void test('LISTEN_LOADAVG entries and LOADAVG readings are checked', () => {
  assert.deepEqual(parseListenedHubs('10.0.0.5, web_2 ,[fd00::5]:4042,10.0.0.5'), {
    ok: true,
    value: ['10.0.0.5', 'web_2', '[fd00::5]:4042'],
  });
  assert.match(String((parseListenedHubs(undefined) as { error: string }).error), /needs ips=/);
  assert.match(String((parseListenedHubs(' , ') as { error: string }).error), /names no hub/);
  assert.match(String((parseListenedHubs('a b') as { error: string }).error), /neither an address/);
  const hub = { name: 'c', address: '10.0.0.5:4042' };
  assert.ok(namesHub('c', hub) && namesHub('10.0.0.5', hub) && namesHub('10.0.0.5:4042', hub));
  assert.ok(!namesHub('10.0.0.5:4043', hub) && !namesHub('10.0.0.50', hub) && !namesHub('d', hub));
  assert.ok(namesHub('fd00::5', { name: 'x', address: '[fd00::5]:4042' }));
  assert.deepEqual(readLoadAvg({ avg: '0.25', my_address: '10.0.0.5:4042', timestamp: '1733220000.5' }), {
    ok: true,
    value: { avg: 0.25, myAddress: '10.0.0.5:4042', timestamp: 1733220000.5 },
  });
  assert.equal(readLoadAvg({ avg: '-1', my_address: 'x', timestamp: '1733220000' }).ok, false);
  assert.equal(readLoadAvg({ avg: '1', timestamp: '1733220000' }).ok, false);
  assert.equal(readLoadAvg({ avg: '1', my_address: 'x', timestamp: '12' }).ok, false, 'a clock never set');
});

/** One hub's exchange (hub a) with its neighbors played by hand. */
function rig(): Rig {
  return new Rig();
}

class Rig {
  readonly clock = new ManualClock(1_733_220_000_000);
  load = 0.5;
  reach: ReachableHub[] = [{ name: 'c', address: '10.0.0.3:4042', epoch: 1 }];
  sent: { to: string; msg: Message }[] = [];
  local: Message[] = [];
  readonly ex = new MeshLoadAvg({
    serverName: 'a',
    clock: this.clock,
    log: getLogger('test'),
    sample: () => this.load,
    myAddress: () => '10.0.0.1:4042',
    reachable: () => this.reach,
    sendToHub: (to, msg) => {
      if (!this.reach.some((h) => h.name === to)) return false;
      this.sent.push({ to, msg });
      return true;
    },
    notifyLocal: (msg) => this.local.push(msg),
  });
  take(): string[] {
    const out = this.sent.map(
      (s) => `${s.to}:${s.msg.command}${s.msg.params.avg ? ` ${String(s.msg.params.avg)}` : ''}`,
    );
    this.sent = [];
    return out;
  }
}

void test('listening: a wanted hub is asked once, again after it restarts or comes back; readings go to local services', () => {
  const r = rig();
  r.ex.listen(['10.0.0.3', '10.0.0.9']);
  assert.deepEqual(r.take(), ['c:REGISTER_FOR_LOADAVG']);
  assert.deepEqual(r.sent, []);
  r.ex.refresh();
  assert.deepEqual(r.take(), [], 'asked already');
  r.reach = [{ name: 'c', address: '10.0.0.3:4042', epoch: 2 }];
  r.ex.refresh();
  assert.deepEqual(r.take(), ['c:REGISTER_FOR_LOADAVG'], 'c restarted: it forgot us');
  r.reach = [];
  r.ex.refresh();
  r.reach = [{ name: 'c', address: '10.0.0.3:4042', epoch: 2 }];
  r.ex.refresh();
  assert.deepEqual(r.take(), ['c:REGISTER_FOR_LOADAVG'], 'c came back');
  r.reach.push({ name: 'd', address: '10.0.0.9:4042', epoch: 1 });
  r.ex.refresh();
  assert.deepEqual(r.take(), ['d:REGISTER_FOR_LOADAVG'], 'a hub named by its IP appears');
  assert.deepEqual(r.ex.counts(), { wanted: 2, asked: 2, subscribers: 0 });

  const from = { server: 'c', service: '' };
  r.ex.onMessage(
    createMessage(
      'LOADAVG',
      { avg: '0.4', my_address: '10.0.0.3:4042', timestamp: '1733220001.000001', cache: 'no' },
      { server: 'a' },
      from,
    ),
  );
  r.ex.onMessage(
    createMessage(
      'LOADAVG',
      { avg: 'lots', my_address: '10.0.0.3:4042', timestamp: '1733220001' },
      { server: 'a' },
      from,
    ),
  );
  assert.equal(r.local.length, 1, 'the bad reading is dropped');
  const got = r.local[0]!;
  assert.deepEqual(got.sentFrom, { server: 'c', service: '' });
  assert.deepEqual(got.to, { server: '', service: '*' });
  assert.deepEqual(got.params, { avg: '0.4', my_address: '10.0.0.3:4042', timestamp: '1733220001.000001' });
});

void test('serving: a subscriber hears at once, then on a change of 0.1 or more; it is dropped when unsubscribed or unreachable', () => {
  const r = rig();
  const from = { server: 'c', service: '' };
  r.ex.onMessage(createMessage('REGISTER_FOR_LOADAVG', { cache: 'no' }, { server: 'a' }, from));
  const first = r.sent[0]!.msg;
  assert.deepEqual(r.take(), ['c:LOADAVG 0.5']);
  assert.equal(first.params.my_address, '10.0.0.1:4042');
  assert.equal(first.params.timestamp, '1733220000.000000');
  assert.equal(first.params.cache, 'no', 'a reading that cannot go now is not kept for later');
  r.load = 0.55;
  r.clock.advance(1000);
  assert.deepEqual(r.take(), [], 'moved less than 0.1');
  r.load = 0.61;
  r.clock.advance(1000);
  assert.deepEqual(r.take(), ['c:LOADAVG 0.61']);
  r.ex.onMessage(createMessage('UNREGISTER_FROM_LOADAVG', {}, { server: 'a' }, from));
  r.load = 2;
  r.clock.advance(5000);
  assert.deepEqual(r.take(), []);
  assert.equal(r.clock.pending, 0, 'no timer while nobody listens');
  r.ex.onMessage(createMessage('REGISTER_FOR_LOADAVG', {}, { server: 'a' }, from));
  assert.deepEqual(r.take(), ['c:LOADAVG 2']);
  r.reach = [];
  r.ex.refresh();
  assert.equal(r.ex.counts().subscribers, 0);
  assert.equal(r.clock.pending, 0);
  r.ex.stop();
});

// ---- three real hubs ------------------------------------------------------------------------

const hubs: Hub[] = [];
const meshes: Mesh[] = [];
const clients: LineClient[] = [];
const dirs: { cleanup: () => Promise<void> }[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(hubs.map((h) => h.stop('tests done')));
  await Promise.all(dirs.map((d) => d.cleanup()));
});

async function meshedHub(
  name: string,
  ip: string,
  port: number,
  neighbors: string[],
  load: () => number,
): Promise<Hub> {
  const dir = await tempDir();
  dirs.push(dir);
  const hub = await startTestHub({ serverName: name });
  hubs.push(hub);
  const mesh = new Mesh(hub, {
    dataPath: dir.path,
    remoteListen: `cd://${ip}:${port}`,
    neighbors,
    maxConnections: 100,
    timings: FAST_TIMINGS,
    sampleLoad: load,
  });
  meshes.push(mesh);
  hub.attachRemote(mesh);
  await mesh.start();
  return hub;
}

void test('A listens to C through B: a service on A reads C load, and its own hub load, as LOADAVG', async () => {
  const ips = { a: '127.0.0.1', b: '127.0.0.2', c: '127.0.0.3' };
  const ports = { a: await freePort(ips.a), b: await freePort(ips.b), c: await freePort(ips.c) };
  let cLoad = 0.25;
  const a = await meshedHub('a', ips.a, ports.a, [`${ips.b}:${ports.b}`], () => 0.125);
  await meshedHub('b', ips.b, ports.b, [`${ips.a}:${ports.a}`, `${ips.c}:${ports.c}`], () => 0.5);
  await meshedHub('c', ips.c, ports.c, [`${ips.b}:${ports.b}`], () => cLoad);
  const meshA = meshes[0]!;
  await waitFor(() => meshA.graph.distance('c') === 2, { what: 'c reachable from a through b' });

  const reader = await LineClient.register(hubPort(a), 'balancer', ';commands=LOADAVG');
  clients.push(reader);
  reader.send(`LISTEN_LOADAVG ips=${ips.c}`);
  const first = await reader.next((m) => m.command === 'LOADAVG' && m.sentFrom.server === 'c');
  assert.equal(first.params.avg, '0.25');
  assert.equal(first.params.my_address, `${ips.c}:${ports.c}`);
  assert.match(String(first.params.timestamp), /^\d{10}\.\d{6}$/);
  assert.equal(first.params.cache, undefined, 'the hubs’ own parameters stay between hubs');
  cLoad = 0.75;
  const second = await reader.next((m) => m.command === 'LOADAVG' && m.sentFrom.server === 'c');
  assert.equal(second.params.avg, '0.75');
  assert.ok(!reader.received.some((m) => m.command === 'LOADAVG' && m.sentFrom.server === 'b'), 'b was not asked');

  // Its own hub's load: REGISTER_FOR_LOADAVG, answered at once with the address the connection used.
  reader.send('REGISTER_FOR_LOADAVG');
  const own = await reader.next((m) => m.command === 'LOADAVG' && m.sentFrom.server === 'a');
  assert.equal(own.params.my_address, `127.0.0.1:${hubPort(a)}`);
  assert.ok(Number(own.params.avg) >= 0);

  // PUBLIC_IP on a meshed hub: its plain hub-link listener.
  reader.send('PUBLIC_IP');
  assert.deepEqual((await reader.next('SERVER_PUBLIC_IP')).params, {
    public_ip: `${ips.a}:${ports.a}`,
    secure_ip: '',
  });

  // A bad list is refused with a sentence; a local LOADAVG is not taken.
  reader.send('LISTEN_LOADAVG ips=not an address');
  assert.match(String((await reader.next('INVALID')).params.message), /neither an address/);
  reader.send('LOADAVG avg=0;my_address=x;timestamp=1733220000');
  assert.match(String((await reader.next('INVALID')).params.message), /taken from other hubs only/);
});

void test('without a mesh LISTEN_LOADAVG is refused with a sentence; REGISTER_FOR_LOADAVG still works', async () => {
  const alone = await startTestHub({ serverName: 'alone' });
  hubs.push(alone);
  const c = await LineClient.connect(hubPort(alone));
  clients.push(c);
  c.send('LISTEN_LOADAVG ips=10.0.0.5');
  assert.match(String((await c.next('INVALID')).params.message), /needs a mesh/);
  c.send('REGISTER_FOR_LOADAVG');
  const reading = await c.next('LOADAVG');
  assert.deepEqual(Object.keys(reading.params).sort(), ['avg', 'my_address', 'timestamp']);
  c.send('UNREGISTER_FROM_LOADAVG');
});
