/**
 * Least-loaded picks: the rule on its own, then two real hubs meshed over loopback (in-process,
 * each told its machine load) with their discovery agents, where a client on hub a picks the `app`
 * instance on whichever hub reports the lower LOADAVG, and follows when the loads change.
 */
import { after, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { connect, type SwitchboardClient } from '../client/index.js';
import { createMessage } from '../core/message.js';
import { freePort, tempDir, waitFor } from '../core/test/support.js';
import type { Hub } from '../hub/hub.js';
import { startTestHub } from '../hub/test/support.js';
import { Mesh } from '../mesh/mesh.js';
import { FAST_TIMINGS } from '../mesh/timings.js';
import { DiscoveryAgent } from './agent.js';
import { Balancer } from './balance.js';
import { attachDiscovery, createDiscovery } from './discovery.js';
import { HubLoads, pickLeastLoaded } from './loads.js';

function loadavg(hub: string, avg: string, timestamp = '1733220000.000001') {
  return createMessage('LOADAVG', { avg, my_address: '10.0.0.1:4042', timestamp }, {}, { server: hub });
}

void test('the least-loaded rule: lowest reported load first, unreported hubs after, random with nothing known', () => {
  const loads = new Map([
    ['a/app#1', 0.9],
    ['b/app#1', 0.2],
    ['b/app#2', 0.2],
  ]);
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++)
    seen.add(pickLeastLoaded(['a/app#1', 'b/app#1', 'b/app#2', 'c/app#1'], (id) => loads.get(id))!);
  assert.deepEqual([...seen].sort(), ['b/app#1', 'b/app#2'], 'ties on one hub share the work; c never reported');
  assert.equal(
    pickLeastLoaded([], () => 0),
    undefined,
  );
  const any = new Set<string>();
  for (let i = 0; i < 50; i++) any.add(pickLeastLoaded(['x', 'y'], () => undefined)!);
  assert.equal(any.size, 2);
  assert.equal(new Balancer('least-loaded', (id) => loads.get(id)).pick(['a/app#1', 'b/app#1']), 'b/app#1');

  const table = new HubLoads();
  assert.ok(table.record(loadavg('a', '0.5', '1733220010')));
  assert.ok(table.record(loadavg('a', '0.9', '1733220005')), 'a late, older reading is taken and ignored');
  assert.equal(table.ofPeer('a/app#1'), 0.5);
  assert.equal(table.record(loadavg('a', 'x')), false);
  assert.equal(table.record(loadavg('', '0.1')), false);
});

void test('peers from the override: LOADAVG readings decide getLeastLoadedPeer and a least-loaded request', async () => {
  const servers = await Promise.all(
    ['a', 'b'].map(
      (name) =>
        new Promise<Server>((resolve) => {
          const srv = createServer((_req, res) => res.end(name));
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const portOf = (srv: Server) => (srv.address() as AddressInfo).port;
  try {
    const peer = (srv: Server) => ({ address: '127.0.0.1', port: portOf(srv) });
    const d = createDiscovery(undefined, {
      override: JSON.stringify({
        service: { app: { default: { 'a/app#1': peer(servers[0]!), 'b/app#1': peer(servers[1]!) } } },
      }),
    });
    d.onMessage(loadavg('a', '0.75'));
    d.onMessage(loadavg('b', '0.25'));
    assert.equal(d.getLeastLoadedPeer('service', 'app')?.port, portOf(servers[1]!));
    assert.equal(d.service('app').leastLoaded()?.port, portOf(servers[1]!));
    assert.deepEqual(d.hubLoad('b'), { avg: 0.25, timestamp: 1733220000.000001 });
    for (let i = 0; i < 5; i++) {
      const res = await d.service('app').request({ policy: { balance: 'least-loaded' } });
      assert.equal(res.body, 'b');
      assert.equal(res.identity, 'b/app#1');
    }
  } finally {
    for (const srv of servers) srv.close();
  }
});

// ---- two real hubs ---------------------------------------------------------------------------

const hubs: Hub[] = [];
const agents: DiscoveryAgent[] = [];
const clients: SwitchboardClient[] = [];
const dirs: { cleanup: () => Promise<void> }[] = [];
after(async () => {
  for (const c of clients) c.dispose();
  for (const a of agents) a.stop();
  await Promise.all(hubs.map((h) => h.stop('tests done')));
  await Promise.all(dirs.map((d) => d.cleanup()));
});

async function meshedHub(name: string, ip: string, port: number, neighbors: string[], load: () => number) {
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
  hub.attachRemote(mesh);
  await mesh.start();
  const url = hub.addresses.find((a) => a.kind === 'local')!.url;
  agents.push(new DiscoveryAgent(hub, hub.config, url));
  return { hub, mesh, url };
}

void test('a client on hub a picks the app instance on the less loaded of hubs b and c, and follows the loads', async () => {
  const load = { a: 0.5, b: 0.9, c: 0.2 };
  const ip = { a: '127.0.0.1', b: '127.0.0.2', c: '127.0.0.3' };
  const ports = { a: await freePort(ip.a), b: await freePort(ip.b), c: await freePort(ip.c) };
  const at = (h: 'a' | 'b' | 'c') => `${ip[h]}:${ports[h]}`;
  const a = await meshedHub('a', ip.a, ports.a, [at('b'), at('c')], () => load.a);
  const b = await meshedHub('b', ip.b, ports.b, [at('a')], () => load.b);
  const c = await meshedHub('c', ip.c, ports.c, [at('a')], () => load.c);
  await waitFor(() => a.mesh.graph.distance('b') === 1 && a.mesh.graph.distance('c') === 1, {
    what: 'a linked to b and c',
  });

  // An app instance on b and on c, then the client on a: whatever its agent has read of them
  // when it syncs, the client ends with both (sync-order.test.ts pins the orderings).
  for (const [hub, id, port] of [
    [b, 'b1', 8002],
    [c, 'c1', 8003],
  ] as const) {
    const app = await connect(hub.url, { reconnect: false });
    clients.push(app);
    await app.register('app', { instance: id, endpoints: [{ name: 'default', protocol: 'http', port }] });
  }
  const web = await connect(a.url, { reconnect: false });
  clients.push(web);
  await web.register('web');
  const d = await attachDiscovery(web, { override: '' });
  await waitFor(() => Object.keys(d.getPeers('service', 'app')).length === 2, {
    what: 'both app instances known on a',
  });

  assert.ok(d.getLeastLoadedPeer('service', 'app'), 'a peer at once, before any load is known');
  await waitFor(() => d.hubLoad('b') && d.hubLoad('c'), { what: 'LOADAVG from b and c' });
  assert.equal(d.hubLoad('b')?.avg, 0.9);
  assert.equal(d.hubLoad('c')?.avg, 0.2);
  assert.ok(d.hubLoad('a'), "a's own load too (REGISTER_FOR_LOADAVG)");
  assert.equal(d.getLeastLoadedPeer('service', 'app')?.port, 8003);
  assert.equal(d.service('app').leastLoaded()?.port, 8003);

  load.b = 0.05;
  await waitFor(() => d.getLeastLoadedPeer('service', 'app')?.port === 8002, { what: 'the pick follows the loads' });
});
