/**
 * The hub itself refuses a malformed `endpoints` advertisement at REGISTER (INVALID, one sentence
 * saying what to fix); the connection stays usable and nothing already accepted is lost. Also the
 * hub's discovery configuration (`cluster_name`, `discovery`) is checked at load.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type PeersClient } from '../client/index.js';
import { SwitchboardError } from '../core/errors.js';
import { waitFor } from '../core/test/support.js';
import { loadConfig } from '../hub/config.js';
import type { Hub } from '../hub/hub.js';
import { LineClient, hubPort, startTestHub } from '../hub/test/support.js';
import { CONFIG_SECTIONS } from '../start/compose.js';
import { discoveryAgent } from './agent.js';
import type { DiscoveryConfig } from './schema.js';

const cleanup: (() => unknown)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

async function hubWithAgent(): Promise<Hub> {
  const hub = await startTestHub({ serverName: 'reghub' });
  const agent = await discoveryAgent(hub.config).start(hub);
  cleanup.push(
    () => hub.stop('test over'),
    () => agent?.stop(),
  );
  return hub;
}

void test('REGISTER with a malformed endpoints parameter gets INVALID naming the problem; the connection survives; nothing accepted is lost', async () => {
  const hub = await hubWithAgent();
  const port = hubPort(hub);
  const good = await LineClient.register(port, 'app', ';instance=a1;endpoints=[{"name":"default","port":8080}]');
  cleanup.push(() => good.close());
  const watcher: PeersClient = await connect(`cd://127.0.0.1:${port}`, { reconnect: false });
  cleanup.push(() => watcher.dispose());
  await watcher.register('watcher');
  await watcher.peersReady();
  assert.deepEqual(Object.keys(watcher.getPeers('service', 'app')), ['reghub/app#a1']);

  const c = await LineClient.connect(port);
  cleanup.push(() => c.close());
  const cases: [string, RegExp][] = [
    [
      'endpoints=[{"name":"default"',
      /endpoints is not JSON: give an array such as \[\{"name":"default","protocol":"http","address":"127.0.0.1","port":8080\}\]/,
    ],
    ['endpoints={"port":8080}', /endpoints is not a valid endpoint advertisement: got object, not an array/],
    [
      'endpoints=[{"name":"default","protocol":"http"}]',
      /endpoints is not a valid endpoint advertisement: at 0\.port: port is missing/,
    ],
    ['endpoints=[{"port":70000}]', /at 0\.port: port must be 1\.\.65535/],
    ['endpoints=[{"port":80,"name":"bad name"}]', /at 0\.name: an endpoint name is letters, digits/],
    ['endpoints=[{"port":80,"networkProtocol":"sctp"}]', /at 0\.networkProtocol/],
    ['endpoints=[{"kind":"database","name":"users","info":"x"}]', /at 0\.info/],
    ['endpoints=[8080]', /at 0: an item is an object/],
  ];
  for (const [param, re] of cases) {
    c.send(`REGISTER service=app;instance=a2;${param}`);
    const inv = await c.next('INVALID');
    assert.equal(inv.params.command, 'REGISTER');
    assert.match(String(inv.params.message), re, param);
    assert.match(
      String(inv.params.message),
      /the connection is not registered, send REGISTER again with a fixed endpoints parameter/,
    );
  }
  // The JSON form is refused the same way.
  c.send('{"command":"REGISTER","parameters":{"service":"app","instance":"a2","endpoints":[{"port":"8081"}]}}');
  assert.match(
    String((await c.next('INVALID')).params.message),
    /at 0\.port: port must be a number \(1\.\.65535\), got "8081"/,
  );

  // Same connection, fixed advertisement: accepted; the first instance is still there.
  c.send('REGISTER service=app;instance=a2;endpoints=[{"name":"default","port":8081}]');
  assert.equal((await c.next('READY')).params.instance, 'a2');
  const peers = await waitFor(
    () => {
      const m = watcher.getPeers('service', 'app');
      return Object.keys(m).length === 2 ? m : undefined;
    },
    { what: 'both instances in the peer map' },
  );
  assert.equal(peers['reghub/app#a1']?.port, 8080);
  assert.equal(peers['reghub/app#a2']?.port, 8081);
  const list = await watcher.listServices();
  assert.deepEqual(
    list
      .find((s) => s.name === 'app')
      ?.instances.map((i) => i.instance)
      .sort(),
    ['a1', 'a2'],
  );

  // The client library turns the refusal into a typed error.
  const lib = await connect(`cd://127.0.0.1:${port}`, { reconnect: false });
  cleanup.push(() => lib.dispose());
  const err = await lib.register('app', { instance: 'a3', endpoints: [{ name: 'default', port: 0 }] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SwitchboardError && err.code === 'REFUSED', String(err));
  assert.match(
    err.message,
    /the hub refused REGISTER: endpoints is not a valid endpoint advertisement: at 0\.port: port must be 1\.\.65535/,
  );
});

void test('hub configuration: cluster_name and the discovery section are validated with the key named', () => {
  const base = {
    env: {},
    flags: { serverName: 'h', localListen: 'cd://127.0.0.1:0', signal: 'off', dataPath: '/tmp/sb-discovery-config' },
    // What the composition root (src/start) gives loadConfig.
    sections: CONFIG_SECTIONS,
  };
  const ok = loadConfig({
    ...base,
    flags: {
      ...base.flags,
      clusterName: 'east',
      discovery:
        '{"expose":{"api":"app/web","site":{"service":"www"}},"policies":{"default":{"timeoutMs":2000},"service/app/admin":{"retryCount":1}}}',
    },
  });
  assert.equal(ok.clusterName, 'east');
  const section = ok.discovery as DiscoveryConfig;
  assert.deepEqual(section.expose, {
    api: { service: 'app', endpoint: 'web' },
    site: { service: 'www', endpoint: 'default' },
  });
  assert.deepEqual(section.policies, { default: { timeoutMs: 2000 }, 'service/app/admin': { retryCount: 1 } });
  assert.deepEqual(loadConfig(base).discovery, { expose: {}, policies: {} });
  assert.equal(loadConfig(base).clusterName, null);

  const refused = (flags: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => loadConfig({ ...base, flags: { ...base.flags, ...flags } }),
      (e: unknown) => e instanceof SwitchboardError && e.code === 'INVALID_CONFIG' && re.test(e.message),
    );
  refused({ discovery: '{"expose":' }, /^discovery is not JSON .*give \{"expose"/);
  refused(
    { discovery: '{"policies":{"default":{"timeout":5}}}' },
    /^discovery is not valid: at policies\.default: unknown field "timeout" \(from --discovery\)/,
  );
  refused(
    { discovery: '{"policies":{"servce/app":{}}}' },
    /at policies\.servce\/app: a policy key is "default", "<kind>\/<name>"/,
  );
  refused({ discovery: '{"policies":{"default":{"balance":"fastest"}}}' }, /at policies\.default\.balance/);
  refused(
    { discovery: '{"expose":{"api":"app/web"}}' },
    /discovery\.expose \(api\) is published under the hub's cluster name: set cluster_name/,
  );
  refused({ clusterName: 'east', discovery: '{"expose":{"api":"no such/form/x"}}' }, /at expose\.api/);
  refused({ clusterName: 'two words' }, /^cluster_name must be letters, digits/);
  refused({ discovery: '{"exposed":{}}' }, /unknown field "exposed"/);
});
