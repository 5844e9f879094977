/**
 * A client's sync against updates in flight, ordered by hand: two in-process hubs a and b meshed
 * over loopback, each agent talking to its hub through a relay that can hold what the hub writes to
 * it (the agent has not read it yet). Whatever the moment a client syncs at, it must end with every
 * instance of the cluster without anything else changing:
 * - a remote update its agent has not read when the client asks is in the answer;
 * - a push that reaches the client while its re-sync is being answered is kept;
 * - a remote agent's late answer to the waking agent's PEERS_SYNC reaches clients that synced before it;
 * - an agent whose link to its hub dropped while a remote update went by asks for it again.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type SwitchboardClient } from '../client/index.js';
import { freePort, tempDir, waitFor } from '../core/test/support.js';
import type { Hub } from '../hub/hub.js';
import { startTestHub } from '../hub/test/support.js';
import { Mesh } from '../mesh/mesh.js';
import { FAST_TIMINGS } from '../mesh/timings.js';
import { DiscoveryAgent } from './agent.js';
import { attachDiscovery, createDiscovery, type Discovery } from './discovery.js';
import { HeldRelay } from './test/held-relay.js';

const stops: (() => unknown)[] = [];
after(async () => {
  // Last started, first stopped: clients, then agents, then relays and hubs.
  for (const stop of stops.reverse()) await stop();
});

interface TestHub {
  hub: Hub;
  mesh: Mesh;
  url: string;
  /** Between the hub and its discovery agent. */
  relay: HeldRelay;
}

async function meshedHub(name: string, ip: string, port: number, neighbors: string[]): Promise<TestHub> {
  const dir = await tempDir();
  stops.push(() => dir.cleanup());
  const hub = await startTestHub({ serverName: name });
  stops.push(() => hub.stop('tests done'));
  const mesh = new Mesh(hub, {
    dataPath: dir.path,
    remoteListen: `cd://${ip}:${port}`,
    neighbors,
    maxConnections: 100,
    timings: FAST_TIMINGS,
  });
  hub.attachRemote(mesh);
  await mesh.start();
  const url = hub.addresses.find((a) => a.kind === 'local')!.url;
  const relay = await HeldRelay.start(url);
  stops.push(() => relay.close());
  const agent = new DiscoveryAgent(hub, hub.config, relay.url);
  stops.push(() => agent.stop());
  return { hub, mesh, url, relay };
}

/** Hubs a (127.0.0.1) and b (127.0.0.2), linked; both agents dormant. */
async function pair(): Promise<{ a: TestHub; b: TestHub }> {
  const ports = { a: await freePort('127.0.0.1'), b: await freePort('127.0.0.2') };
  const a = await meshedHub('a', '127.0.0.1', ports.a, []);
  const b = await meshedHub('b', '127.0.0.2', ports.b, [`127.0.0.1:${ports.a}`]);
  await waitFor(() => a.mesh.graph.distance('b') === 1 && b.mesh.graph.distance('a') === 1, { what: 'a and b linked' });
  return { a, b };
}

async function client(at: TestHub, service: string): Promise<SwitchboardClient> {
  const c = await connect(at.url, { reconnect: false });
  stops.push(() => c.dispose());
  await c.register(service);
  return c;
}

/** A registered client with discovery synced (which wakes its hub's agent). */
async function watcher(at: TestHub, service: string): Promise<Discovery> {
  return attachDiscovery(await client(at, service), { override: '' });
}

async function app(at: TestHub, service: string, instance: string): Promise<void> {
  const c = await connect(at.url, { reconnect: false });
  stops.push(() => c.dispose());
  await c.register(service, { instance, endpoints: [{ name: 'default', protocol: 'http', port: 8080 }] });
}

const ids = (d: Discovery, service: string) => Object.keys(d.getPeers('service', service));

/** Once the hub answers this, it has handled everything `c` sent before (one connection is read in order). */
async function hubHasRead(c: SwitchboardClient): Promise<void> {
  await c.request(
    { command: 'ALIVE', params: { serial: 'read-so-far' } },
    { match: (m) => m.command === 'ABSOLUTELY' },
  );
}

void test("a client that syncs while its agent has not read a remote update yet gets that update in the sync's answer", async () => {
  const { a, b } = await pair();
  const onA = await watcher(a, 'early');
  await watcher(b, 'watcher');

  // b's agent pushes app#b1 to every hub: a hands it to `early` and to its agent, whose copy waits here.
  a.relay.hold();
  await app(b, 'app', 'b1');
  await waitFor(() => ids(onA, 'app').length === 1 && a.relay.heldText().includes('b1'), {
    what: "b's update delivered on a, the agent's copy held",
  });

  // A client registers after the push went by and syncs: only the agent can tell it about app#b1.
  const late = await client(a, 'late');
  const d = createDiscovery(late, { override: '' });
  d.startSync();
  await hubHasRead(late);
  a.relay.release();
  await d.ready();
  assert.deepEqual(ids(d, 'app'), ['b/app#b1'], 'the answer carries what the agent had not read');
});

void test('a push that reaches a client while its re-sync is being answered is kept', async () => {
  const { a, b } = await pair();
  const d = await watcher(a, 'web');
  await watcher(b, 'watcher');
  await app(b, 'app', 'b1');
  await waitFor(() => ids(d, 'app').length === 1, { what: 'app#b1 on a' });

  // The agent answers once it has read up to the hub's answer to its catch-up request (ALIVE):
  // hold that answer, let a new instance's push reach the client, then let the agent read only
  // up to its catch-up answer, so that it answers without app#b2 after the client has it.
  a.relay.hold();
  const resync = d.sync();
  await waitFor(() => a.relay.heldText().includes('ABSOLUTELY'), { what: "the agent's catch-up answer held" });
  await app(b, 'app', 'b2');
  await waitFor(() => ids(d, 'app').length === 2 && a.relay.heldText().includes('b2'), {
    what: 'the push of app#b2 on the client, the agent copy held',
  });
  assert.ok(a.relay.releaseThrough('ABSOLUTELY'));
  await resync;
  a.relay.release();
  assert.deepEqual(ids(d, 'app').sort(), ['b/app#b1', 'b/app#b2'], 'the answer (without b2) did not erase the push');
});

void test("a remote agent's late answer to a waking agent reaches the clients that synced before it came", async () => {
  const { a, b } = await pair();
  const onB = await watcher(b, 'watcher');
  // a's agent is asleep: nobody on a hears app#b1's push.
  await app(b, 'app', 'b1');
  await waitFor(() => ids(onB, 'app').length === 1, { what: 'app#b1 on b' });
  await waitFor(() => a.mesh.remoteServices().some((s) => s.name === 'discovery' && s.hub === 'b'), {
    what: "b's agent known on a",
  });

  // a's agent wakes on this sync and asks every agent; b's cannot answer before a's gives up waiting.
  b.relay.hold();
  const d = await watcher(a, 'late');
  assert.deepEqual(ids(d, 'app'), [], 'the first answer came without b');
  b.relay.release();
  await waitFor(() => ids(d, 'app').length === 1, { what: "b's answer passed on to the client" });
  assert.deepEqual(ids(d, 'app'), ['b/app#b1']);
});

void test('an agent whose link to its hub dropped while a remote update went by has it once registered again', async () => {
  const { a, b } = await pair();
  await watcher(a, 'early');
  await watcher(b, 'watcher');
  // a's agent is cut off from its hub while b's agent announces app#b1: that push never reaches it.
  a.relay.cut();
  await waitFor(() => a.hub.services.get('discovery')?.up !== true, { what: "a's agent gone from its hub" });
  await app(b, 'app', 'b1');
  const onB = await watcher(b, 'sees_b1');
  await waitFor(() => ids(onB, 'app').length === 1, { what: 'app#b1 known on b' });
  a.relay.mend();
  await waitFor(() => a.hub.services.get('discovery')?.up === true, {
    what: "a's agent registered again",
    timeoutMs: 15_000,
  });
  // A client on a syncs from the agent's table: app#b1 must get there without another change on b.
  const late = createDiscovery(await client(a, 'late'), { override: '' });
  await waitFor(
    async () => {
      await late.sync();
      return ids(late, 'app').length === 1;
    },
    { what: "app#b1 in a's agent's answer", timeoutMs: 15_000 },
  );
  assert.deepEqual(ids(late, 'app'), ['b/app#b1']);
});
