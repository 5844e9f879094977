/**
 * Two real hub processes linked by the mesh: instances of `app` register and leave on both; a
 * monitor on a third service's connection sees every change, in order, once. The `peers` verb
 * reads the same view.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect, type SwitchboardClient } from '../client/index.js';
import { waitFor } from '../core/test/support.js';
import { startCluster, waitConverged, type HubProcess } from '../mesh/test/cluster.js';
import { attachDiscovery } from './discovery.js';
import type { PeerMap } from './schema.js';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const run = promisify(execFile);

let hubs: Map<string, HubProcess>;
const clients: SwitchboardClient[] = [];

before(async () => {
  hubs = await startCluster([
    { name: 'ha', ip: '127.0.0.1', neighbors: [] },
    { name: 'hb', ip: '127.0.0.2', neighbors: ['ha'] },
  ]);
  await waitConverged(hubs.values());
});
after(async () => {
  for (const c of clients) c.dispose();
  for (const h of hubs?.values() ?? []) await h.dispose();
});

async function instance(hub: string, id: string, port: number): Promise<SwitchboardClient> {
  const c = await connect(hubs.get(hub)!.localUrl, { reconnect: false });
  clients.push(c);
  await c.register('app', {
    instance: id,
    endpoints: [{ name: 'default', protocol: 'http', address: '127.0.0.1', port }],
  });
  return c;
}

void test('a monitor on hub B sees every change of app on both hubs, in order, with no duplicate calls', async () => {
  const watcher = await connect(hubs.get('hb')!.localUrl, { reconnect: false });
  clients.push(watcher);
  await watcher.register('watcher');
  const d = await attachDiscovery(watcher, { override: '' });
  const calls: string[][] = [];
  d.monitorPeers('service', 'app', 'default', (m: PeerMap) => calls.push(Object.keys(m).sort()));
  const otherCalls: PeerMap[] = [];
  d.monitorPeers('service', 'other', 'default', (m) => otherCalls.push(m));
  const step = async (n: number, what: string) =>
    waitFor(() => calls.length >= n, { timeoutMs: 10_000, intervalMs: 5, what });

  const a1 = await instance('ha', 'a1', 8001);
  await step(2, 'a1 on hub A');
  const b1 = await instance('hb', 'b1', 8002);
  await step(3, 'b1 on hub B');
  const a2 = await instance('ha', 'a2', 8003);
  await step(4, 'a2 on hub A');
  assert.deepEqual(d.getPeers('service', 'app')['ha/app#a2'], {
    protocol: 'http',
    networkProtocol: 'tcp',
    address: '127.0.0.1',
    port: 8003,
    server: 'ha',
    service: 'app',
    instance: 'a2',
  });
  a1.dispose();
  await step(5, 'a1 leaves');
  b1.dispose();
  await step(6, 'b1 leaves');
  // Another service changing is not a change of app.
  const other = await connect(hubs.get('ha')!.localUrl, { reconnect: false });
  clients.push(other);
  await other.register('other', { endpoints: [{ port: 9000 }] });
  await waitFor(() => otherCalls.length === 2, { timeoutMs: 10_000, intervalMs: 5, what: 'other on hub A' });
  a2.dispose();
  await step(7, 'a2 leaves');
  other.dispose();
  await waitFor(() => otherCalls.length === 3, { timeoutMs: 10_000, intervalMs: 5, what: 'other leaves' });

  assert.deepEqual(calls, [
    [],
    ['ha/app#a1'],
    ['ha/app#a1', 'hb/app#b1'],
    ['ha/app#a1', 'ha/app#a2', 'hb/app#b1'],
    ['ha/app#a2', 'hb/app#b1'],
    ['ha/app#a2'],
    [],
  ]);
});

void test('peers --json lists the cluster-wide view; an unknown kind is a clear error', async () => {
  const a = await instance('ha', 'x1', 8101);
  const b = await instance('hb', 'x2', 8102);
  try {
    const env = { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_PEERS_OVERRIDE: '' };
    await waitFor(
      async () => {
        const { stdout } = await run(
          process.execPath,
          [BIN, 'peers', 'service', 'app', '--json', '--address', hubs.get('ha')!.localUrl],
          { env },
        );
        const map = JSON.parse(stdout) as PeerMap;
        return map['hb/app#x2']?.port === 8102 && map['ha/app#x1']?.port === 8101;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'peers --json showing both instances' },
    );
    const bad = await run(process.execPath, [BIN, 'peers', 'servic', 'app'], { env }).then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    assert.equal(bad?.code, 1);
    assert.match(bad.stderr, /unknown peer kind "servic"/);
  } finally {
    a.dispose();
    b.dispose();
  }
});
