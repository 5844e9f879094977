/**
 * Two clusters meshed (real hub processes): hub `ea` in cluster east exposes app's `web`
 * endpoint as `api`; hub `wb` in cluster west pushes request policies from its configuration.
 * Readers in west see east's exposed endpoint as kind `cluster`, never east's services as their
 * own; policies arrive with the sync and layer as documented; `connect()` gives the calls.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type PeersClient } from '../client/index.js';
import { waitFor } from '../core/test/support.js';
import { startCluster, waitConverged, type HubProcess } from '../mesh/test/cluster.js';
import type { PeerMap } from './schema.js';

let hubs: Map<string, HubProcess>;
const closers: (() => unknown)[] = [];

const EAST = { expose: { api: 'app/web', site: { service: 'www' } } };
const WEST = {
  policies: {
    default: { timeoutMs: 4321 },
    'cluster/east': { retryCount: 1, retryInitialDelayMs: 1 },
    'cluster/east/api': { balance: 'round-robin' },
  },
};

before(async () => {
  hubs = await startCluster([
    {
      name: 'ea',
      ip: '127.0.0.1',
      neighbors: [],
      extraArgs: ['--cluster-name', 'east', '--discovery', JSON.stringify(EAST)],
    },
    {
      name: 'wb',
      ip: '127.0.0.2',
      neighbors: ['ea'],
      extraArgs: ['--cluster-name', 'west', '--discovery', JSON.stringify(WEST)],
    },
  ]);
  await waitConverged(hubs.values());
});
after(async () => {
  for (const c of closers.reverse()) await c();
  for (const h of hubs?.values() ?? []) await h.dispose();
});

async function client(
  hub: string,
  service: string,
  options: Parameters<PeersClient['register']>[1] = {},
): Promise<PeersClient> {
  const c = await connect(hubs.get(hub)!.localUrl, { reconnect: false });
  closers.push(() => c.dispose());
  await c.register(service, options);
  return c;
}

async function failingBackend(): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.statusCode = 503;
    res.end('down');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

void test("a cluster's exposed endpoints are kind cluster everywhere; kind service stays inside each cluster", async () => {
  const westReader = await client('wb', 'reader');
  const eastReader = await client('ea', 'reader');
  const calls: string[][] = [];
  westReader.cluster('east', 'api').monitorAll((m: PeerMap) => calls.push(Object.keys(m).sort()));

  const e1 = await client('ea', 'app', {
    instance: 'e1',
    endpoints: [
      { name: 'web', port: 8001 },
      { name: 'admin', port: 9001 },
    ],
  });
  const w1 = await client('wb', 'app', { instance: 'w1', endpoints: [{ name: 'web', port: 8101 }] });
  await waitFor(() => calls.length >= 2, { timeoutMs: 15_000, intervalMs: 10, what: 'east api seen from west' });
  await waitFor(
    () =>
      Object.keys(westReader.getPeers('service', 'app', 'web')).length === 1 &&
      Object.keys(eastReader.getPeers('service', 'app', 'web')).length === 1,
    { timeoutMs: 15_000, what: 'each cluster sees its own app' },
  );

  assert.deepEqual(westReader.cluster('east', 'api').all(), {
    'ea/app#e1': {
      protocol: 'http',
      networkProtocol: 'tcp',
      address: '127.0.0.1',
      port: 8001,
      server: 'ea',
      service: 'app',
      instance: 'e1',
      cluster: 'east',
    },
  });
  assert.deepEqual(
    Object.keys(westReader.getPeers('service', 'app', 'web')),
    ['wb/app#w1'],
    "west's service app is west's instance only",
  );
  assert.deepEqual(
    Object.keys(eastReader.getPeers('service', 'app', 'web')),
    ['ea/app#e1'],
    "east's service app is east's instance only",
  );
  assert.deepEqual(
    westReader.getPeers('cluster', 'east', 'admin'),
    {},
    'an endpoint east does not expose is not found',
  );
  assert.deepEqual(eastReader.getPeers('cluster', 'west', 'api'), {}, 'west exposes nothing');
  assert.equal(westReader.discovery.clusterName, 'west');

  // Another instance in east, then both leave: the monitor in west sees each change once.
  const e2 = await client('ea', 'app', { instance: 'e2', endpoints: [{ name: 'web', port: 8002 }] });
  await waitFor(() => calls.length >= 3, { timeoutMs: 15_000, intervalMs: 10, what: 'e2 seen from west' });
  e1.dispose();
  await waitFor(() => calls.length >= 4, { timeoutMs: 15_000, intervalMs: 10, what: 'e1 leaves' });
  w1.dispose(); // west's own app changing is not a change of east's api
  e2.dispose();
  await waitFor(() => calls.length >= 5, { timeoutMs: 15_000, intervalMs: 10, what: 'e2 leaves' });
  assert.deepEqual(calls, [[], ['ea/app#e1'], ['ea/app#e1', 'ea/app#e2'], ['ea/app#e2'], []]);
});

void test('request policies come from the hub configuration and layer under code', async () => {
  const reader = await client('wb', 'caller');
  reader.configureDiscovery({ policy: { timeoutMs: 999, retryCount: 4 } });
  await reader.peersReady();
  // hub default < code-wide < hub cluster/east < hub cluster/east/api < setPeerPolicy < request
  assert.equal(reader.discovery.policyFor('service', 'x').timeoutMs, 999, 'code-wide over the hub default');
  assert.equal(reader.discovery.policyFor('service', 'x').retryCount, 4);
  const api = reader.discovery.policyFor('cluster', 'east', 'api');
  assert.deepEqual(
    [api.timeoutMs, api.retryCount, api.retryInitialDelayMs, api.balance, api.retryMaxDelayMs],
    [999, 1, 1, 'round-robin', 5000],
  );
  reader.setPeerPolicy('cluster', 'east', 'api', { retryCount: 0 });
  assert.equal(reader.discovery.policyFor('cluster', 'east', 'api').retryCount, 0, 'code per target over the hub');
  assert.equal(
    reader.discovery.policyFor('cluster', 'east', 'api', { retryCount: 2 }).retryCount,
    2,
    'the request over everything',
  );
  assert.throws(
    () => reader.setPeerPolicy('cluster', 'east', 'api', { retryCount: -1 }),
    /invalid request policy: at retryCount/,
  );

  const eastOnly = await client('ea', 'caller');
  await eastOnly.peersReady();
  assert.equal(
    eastOnly.discovery.policyFor('cluster', 'east', 'api').timeoutMs,
    5000,
    'east pushes no policies: Berlioz defaults',
  );

  // The pushed policy is the one requests run with: one retry (hub), then none (code).
  const backend = await failingBackend();
  const svc = await client('ea', 'www', { endpoints: [{ port: backend.port }] });
  const fresh = await client('wb', 'caller2');
  await waitFor(() => Object.keys(fresh.cluster('east', 'site').all()).length === 1, {
    timeoutMs: 15_000,
    what: 'east site seen from west',
  });
  assert.equal(fresh.discovery.policyFor('service', 'x').timeoutMs, 4321, 'the hub default when the code sets none');
  const failure = async () => {
    const e = await fresh
      .cluster('east', 'site')
      .request({ path: '/' })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.match(String(e), /answered 503/);
  };
  await failure();
  assert.equal(backend.hits(), 2, 'cluster/east from the hub: retryCount 1');
  fresh.setPeerPolicy('cluster', 'east', 'site', { retryCount: 0 });
  await failure();
  assert.equal(backend.hits(), 3, 'setPeerPolicy: retryCount 0');
  svc.dispose();
});
