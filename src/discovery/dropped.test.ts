/**
 * A client that stops reading loses what the hub cannot queue for it, a PEERS push among it when
 * other traffic filled its queue: holding a stream sender back stops its next messages, not the one
 * that found no room. That used to leave the client's view stale until the next change; now the hub
 * says DROPPED count=N once the client reads again (it lists DROPPED among its commands), and
 * discovery syncs anew.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../client/index.js';
import { waitFor } from '../core/test/support.js';
import { LineClient, hubPort, startTestHub } from '../hub/test/support.js';
import { discoveryAgent } from './agent.js';
import { HeldRelay } from './test/held-relay.js';

const cleanup: (() => unknown)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

void test('a PEERS push dropped while the client was not reading still reaches its view: DROPPED, then a new sync', async () => {
  const hub = await startTestHub({ serverName: 'drophub', maxQueuedBytes: 64 * 1024 });
  const agent = await discoveryAgent(hub.config).start(hub);
  cleanup.push(
    () => hub.stop('test over'),
    () => agent?.stop(),
  );
  const relay = await HeldRelay.start(`cd://127.0.0.1:${hubPort(hub)}`);
  cleanup.push(() => relay.close());
  const watcher = await connect(relay.url, { reconnect: false });
  cleanup.push(() => watcher.dispose());
  await watcher.register('watcher');
  await watcher.peersReady();
  const droppedHeard: number[] = [];
  watcher.onMessage((m) => {
    if (m.command === 'DROPPED') droppedHeard.push(Number(m.params.count));
  });

  // The watcher stops reading; an in-process sender keeps the kernel's buffers and then the hub's
  // 64 KiB queue for it full (the hub cannot hold an in-process sender back: past that, it drops)
  // while a change is pushed to every client: that PEERS cannot be queued for the watcher.
  relay.stall();
  const probe = await LineClient.connect(hubPort(hub));
  cleanup.push(() => probe.close());
  /** What the hub has dropped for the watcher so far (LIST_SERVICES, answers up to a second old). */
  const droppedSoFar = async (): Promise<number> => {
    probe.send('LIST_SERVICES');
    const list = JSON.parse(String((await probe.next('SERVICES')).params.services)) as {
      name: string;
      instances: { dropped: number }[];
    }[];
    return list.find((s) => s.name === 'watcher')?.instances[0]?.dropped ?? 0;
  };
  const flood = hub.connectInProcess('flood');
  cleanup.push(() => flood.close());
  const pad = 'x'.repeat(4000);
  let flooding = true;
  const flooded = (async () => {
    for (let i = 0; flooding; i++) {
      // Big lines fill the buffers fast; then short ones pack the queue to its last bytes, so a
      // PEERS line (a few hundred bytes) could not fit in it.
      flood.send(i < 4000 ? `watcher/ABSOLUTELY n=${i};pad=${pad}` : `watcher/ABSOLUTELY n=${i}`);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r)); // the in-process channel has its own 64 KiB bound
    }
  })();
  await waitFor(async () => (await droppedSoFar()) > 4000, {
    what: 'the hub to drop for the watcher',
    intervalMs: 100,
  });
  const app = await LineClient.register(hubPort(hub), 'app', ';instance=a1;endpoints=[{"name":"default","port":8080}]');
  cleanup.push(() => app.close());
  // Drops go on well after the push (the agent sends it within milliseconds of READY).
  const dropsAtReady = await droppedSoFar();
  await waitFor(async () => (await droppedSoFar()) > dropsAtReady + 500, {
    what: 'the hub to go on dropping for the watcher',
    intervalMs: 100,
  });
  flooding = false;
  await flooded;
  assert.deepEqual(Object.keys(watcher.getPeers('service', 'app')), [], 'not heard yet: the watcher is not reading');

  relay.unstall();
  await waitFor(() => Object.keys(watcher.getPeers('service', 'app')).length === 1, {
    what: 'the watcher to see app#a1 after reading again',
    timeoutMs: 10_000,
  });
  assert.deepEqual(Object.keys(watcher.getPeers('service', 'app')), ['drophub/app#a1']);
  assert.ok(droppedHeard.length > 0 && droppedHeard.every((n) => n > 0), `DROPPED counts: ${droppedHeard.join(',')}`);
});
