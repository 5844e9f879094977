/** Discovery's pieces without a hub: bad input, the peer cache's monitor rule, the breaker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwitchboardError } from '../core/errors.js';
import { Breakers } from './breaker.js';
import { attachDiscovery } from './discovery.js';
import { PeerTable } from './peer-table.js';
import { checkKind, parseAdvertisement, parseOverride, type PeerMap, type Snapshot } from './schema.js';
import { childTraceparent, traceIdOf, withTraceparent } from './trace.js';
import { hostOf } from './agent.js';

const invalid = (re: RegExp) => (e: unknown) =>
  e instanceof SwitchboardError && e.code === 'INVALID_ARGUMENT' && re.test(e.message);

void test('bad input: unknown kind, malformed advertisement, override that does not parse', async () => {
  assert.throws(
    () => checkKind('services'),
    invalid(/unknown peer kind "services": use one of service, cluster, database, queue/),
  );
  assert.throws(() => parseAdvertisement('[{"name":"default"'), invalid(/endpoints is not JSON/));
  assert.throws(
    () => parseAdvertisement([{ name: 'default', protocol: 'http' }]),
    invalid(/not a valid endpoint advertisement: at 0/),
  );
  assert.throws(() => parseAdvertisement([{ name: 'default', port: 70000 }]), invalid(/at 0/));
  assert.throws(() => parseAdvertisement({ name: 'x', port: 1 }), invalid(/expected an array/));
  assert.throws(() => parseOverride('{"service":'), invalid(/SWITCHBOARD_PEERS_OVERRIDE does not parse as JSON/));
  assert.throws(() => parseOverride('{"svc":{}}'), invalid(/not a valid peer override/));
  await assert.rejects(attachDiscovery(undefined, { override: 'nope' }), invalid(/does not parse as JSON/));
  const d = await attachDiscovery(undefined, {
    override: '{"service":{"app":{"default":{"a":{"address":"127.0.0.1","port":81}}}}}',
  });
  assert.throws(() => d.getPeers('servise', 'app'), invalid(/unknown peer kind/));
  assert.deepEqual(d.getPeers('service', 'app'), {
    a: { address: '127.0.0.1', port: 81, protocol: 'http', networkProtocol: 'tcp' },
  });
  assert.deepEqual(d.getPeers('service', 'nope'), {});
  assert.equal(d.service('app').first()?.port, 81);
});

void test('an advertisement takes defaults and keeps resources and extra fields', () => {
  const ad = parseAdvertisement(
    '[{"port":8080,"weight":3},{"kind":"database","name":"users","info":{"tableName":"u"}}]',
  );
  assert.deepEqual(ad, [
    { name: 'default', protocol: 'http', networkProtocol: 'tcp', port: 8080, weight: 3 },
    { kind: 'database', name: 'users', info: { tableName: 'u' } },
  ]);
});

function snap(server: string, seq: number, instances: [string, number][], service = 'app'): Snapshot {
  return {
    server,
    service,
    gen: 1,
    seq,
    instances: instances.map(([instance, port]) => ({
      instance,
      host: '10.0.0.1',
      endpoints: [
        { name: 'default', protocol: 'http', networkProtocol: 'tcp' as const, port },
        { kind: 'queue' as const, name: 'jobs', info: { streamName: `s${port}` } },
      ],
    })),
  };
}

void test('peer table: monitors hear real changes only, in order; stale snapshots are ignored', () => {
  const t = new PeerTable();
  const calls: PeerMap[] = [];
  const off = t.monitor('service', 'app', 'default', (m) => calls.push(m));
  assert.deepEqual(calls, [{}], 'called at once with the current map');
  t.apply(snap('ha', 1, [['1', 80]]));
  t.apply(snap('ha', 2, [['1', 80]])); // same content, newer counter: no call
  t.apply(snap('ha', 1, [])); // stale: ignored
  t.apply(snap('hb', 1, [['1', 81]], 'other'));
  t.apply(snap('hb', 2, [['2', 82]]));
  assert.equal(calls.length, 3);
  assert.deepEqual(Object.keys(calls[2]!).sort(), ['ha/app#1', 'hb/app#2']);
  assert.deepEqual(calls[1], {
    'ha/app#1': {
      address: '10.0.0.1',
      port: 80,
      protocol: 'http',
      networkProtocol: 'tcp',
      server: 'ha',
      service: 'app',
      instance: '1',
    },
  });
  assert.deepEqual(t.get('queue', 'jobs', 'default')['hb/other#1'], {
    streamName: 's81',
    kind: 'queue',
    server: 'hb',
    service: 'other',
    instance: '1',
  });
  assert.equal(t.get('service', 'app', 'default'), t.get('service', 'app', 'default'), 'served from the cache');
  t.drop('hb', 'app');
  assert.deepEqual(Object.keys(calls[3]!), ['ha/app#1']);
  off();
  t.apply(snap('ha', 3, []));
  assert.equal(calls.length, 4, 'no calls after unsubscribe');
});

void test('breaker: opens after N failures, half-open after the cool-down (one trial), closes on success', () => {
  let now = 0;
  const b = new Breakers({ failureThreshold: 2, cooldownMs: 100 }, () => now);
  b.failure('p');
  assert.equal(b.state('p'), 'closed');
  b.failure('p');
  assert.equal(b.state('p'), 'open');
  assert.equal(b.allows('p'), false);
  now = 100;
  assert.equal(b.state('p'), 'half-open');
  assert.equal(b.allows('p'), true);
  b.begin('p');
  assert.equal(b.allows('p'), false, 'one trial at a time');
  b.failure('p');
  assert.equal(b.state('p'), 'open', 'a failed trial opens again');
  now = 250;
  b.begin('p');
  b.success('p');
  assert.equal(b.state('p'), 'closed');
});

void test('traceparent: a child keeps the trace id; garbage starts a new trace', () => {
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const child = childTraceparent(parent);
  assert.equal(traceIdOf(child), '0af7651916cd43dd8448eb211c80319c');
  assert.notEqual(child, parent);
  assert.match(childTraceparent('garbage'), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const params = withTraceparent({ service: 'app', traceparent: parent });
  assert.equal(params.service, 'app');
  assert.equal(traceIdOf(params.traceparent), '0af7651916cd43dd8448eb211c80319c');
  assert.equal(hostOf('127.0.0.2:4545'), '127.0.0.2');
  assert.equal(hostOf('[::1]:4545'), '::1');
  assert.equal(hostOf('memory'), '127.0.0.1');
});

void test("peer table: kind service stays in the reader's cluster; kind cluster reads what a cluster exposes", () => {
  const t = new PeerTable();
  const east = { ...snap('ea', 1, [['1', 80]]), cluster: 'east', exposes: { api: 'default' } };
  const west = { ...snap('wb', 1, [['2', 81]]), cluster: 'west' };
  t.apply(east);
  t.apply(west);
  assert.deepEqual(Object.keys(t.get('service', 'app', 'default')), [], 'a reader with no cluster sees neither');
  t.setLocalCluster('west');
  assert.deepEqual(Object.keys(t.get('service', 'app', 'default')), ['wb/app#2']);
  assert.deepEqual(Object.keys(t.get('queue', 'jobs', 'default')), ['wb/app#2'], 'resources stay in the cluster too');
  assert.deepEqual(t.get('cluster', 'east', 'api'), {
    'ea/app#1': {
      address: '10.0.0.1',
      port: 80,
      protocol: 'http',
      networkProtocol: 'tcp',
      server: 'ea',
      service: 'app',
      instance: '1',
      cluster: 'east',
    },
  });
  assert.deepEqual(t.get('cluster', 'east', 'default'), {}, 'only exposed names');
  assert.deepEqual(t.get('cluster', 'west', 'api'), {}, 'west exposes nothing');
});
