/**
 * Three nats-server processes routed on loopback (started here, with their own ports, routes and
 * JetStream stores) and three hub processes on them: a request crosses hubs, remote services are
 * listed and announced, broadcasts reach every hub; then one hub and one NATS node are killed
 * and no message sent with a ttl cache is lost.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage, type Message } from '../core/message.js';
import { freePort, waitFor } from '../core/test/support.js';
import { LineService } from '../mesh/test/cluster.js';
import type { BackplaneStatus } from './backplane.js';
import { NatsCluster, natsServerMissing } from './test/nats-cluster.js';
import { BackplaneHub } from './test/backplane-hub.js';

/** Until every running hub sees every other one, and `check` holds for each status. */
async function converged(hubs: BackplaneHub[], check: (s: BackplaneStatus) => boolean = () => true): Promise<void> {
  const running = hubs.filter((h) => h.running);
  await waitFor(
    async () => {
      for (const h of running) {
        const s = await h.status();
        if (!s) return false;
        const reach = new Set(s.hubs.filter((x) => x.reachable).map((x) => x.name));
        if (!running.every((o) => reach.has(o.name)) || !check(s)) return false;
      }
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `backplane convergence of ${running.map((h) => h.name).join(', ')}` },
  );
}

const ids = (inbox: Message[], command: string): number[] =>
  inbox.filter((m) => m.command === command).map((m) => Number(m.params.id));

void describe('NATS backplane: three hubs on three routed nats-servers', { skip: natsServerMissing() }, () => {
  let nats: NatsCluster;
  const hubs: BackplaneHub[] = [];
  const services: LineService[] = [];
  const namespace = `t${process.pid}`;

  before(async () => {
    nats = await NatsCluster.start(3);
    for (const name of ['a', 'b', 'c'])
      hubs.push(new BackplaneHub(name, await freePort(), () => nats.urls, namespace, { replicas: 3, timings: 'fast' }));
    for (const h of hubs) await h.start();
    // The cache stream is replicated on the three servers once JetStream's cluster has formed.
    await converged(hubs, (s) => s.backplane.stream?.replicas === 3);
  });

  after(async () => {
    for (const s of services) s.close();
    for (const h of hubs) await h.dispose();
    await nats?.dispose();
  });

  void test('a request crosses hubs, remote services are listed and announced, broadcasts reach every hub', async () => {
    const [a, b, c] = hubs as [BackplaneHub, BackplaneHub, BackplaneHub];
    const watcher = await LineService.register(b.localUrl, 'watcher', ['STATUS', 'NEWS']);
    const client = await LineService.register(a.localUrl, 'client');
    services.push(watcher, client);
    const echo = await LineService.register(c.localUrl, 'echo', ['NEWS']);
    services.push(echo);
    // B hears of the service on C as a STATUS.
    const up = await watcher.next((m) => m.command === 'STATUS' && m.params.service === 'echo');
    assert.equal(up.params.server_name, 'c');
    assert.equal(up.params.status, 'up');
    await converged(hubs, (s) => s.hubs.find((x) => x.name === 'c')?.services.includes('echo') ?? false);

    // A request from A to "echo" anywhere: answered from C, back on A.
    client.to('echo', 'PING', { id: 1 });
    const ping = await echo.next((m) => m.command === 'PING');
    assert.deepEqual(ping.sentFrom, { server: 'a', service: 'client' });
    echo.send(createMessage('PONG', { id: ping.params.id ?? 0 }, ping.sentFrom));
    const pong = await client.next((m) => m.command === 'PONG');
    assert.deepEqual(pong.sentFrom, { server: 'c', service: 'echo' });
    assert.equal(pong.params.id, 1);

    // LIST_SERVICES on A shows the service on C.
    client.send(createMessage('LIST_SERVICES'));
    const list = await client.next((m) => m.command === 'SERVICES');
    const entries = list.params.services as { name: string; server: string }[];
    assert.ok(
      entries.some((e) => e.name === 'echo' && e.server === 'c'),
      JSON.stringify(entries),
    );

    // A broadcast from A reaches the interested services on B and C.
    client.send(createMessage('NEWS', { n: 7 }, { service: '*' }));
    assert.equal((await watcher.next((m) => m.command === 'NEWS')).params.n, 7);
    assert.equal((await echo.next((m) => m.command === 'NEWS')).params.n, 7);

    // cluster-status works on the backplane.
    const s = await a.status();
    assert.equal(s?.transport, 'backplane');
    assert.equal(s?.cluster.up, true);
    assert.equal(s?.cluster.complete, true);
    echo.close();
  });

  void test('killing one NATS node and one hub loses no message sent with a ttl cache', async () => {
    const [a, , c] = hubs as [BackplaneHub, BackplaneHub, BackplaneHub];
    const src = await LineService.register(a.localUrl, 'src');
    let worker = await LineService.register(c.localUrl, 'worker');
    services.push(src, worker);
    await converged(hubs, (s) => s.hubs.find((x) => x.name === 'c')?.services.includes('worker') ?? false);
    const job = (id: number) => src.to('worker', 'JOB', { id, cache: 'ttl=300' });

    for (let id = 0; id < 20; id++) job(id);
    await waitFor(() => ids(worker.inbox, 'JOB').length >= 20, { timeoutMs: 30_000, what: 'the first 20 jobs on C' });
    assert.deepEqual(ids(worker.inbox, 'JOB'), [...Array(20).keys()]);

    // The hub with the worker dies, and so does the NATS server the sender's hub is connected to.
    const senderNode = nats.urls.indexOf((await a.status())!.backplane.connectedTo);
    assert.ok(senderNode >= 0, 'hub A is connected to one of the three servers');
    await c.kill();
    worker.close();
    await nats.kill(senderNode);

    // Sent at once: A still believes the worker is on C (it learns otherwise only from NATS).
    for (let id = 20; id < 40; id++) job(id);
    // And once A knows C is gone (the messages go straight to JetStream).
    await converged([a], (s) => s.hubs.find((x) => x.name === 'c')?.reachable === false);
    for (let id = 40; id < 60; id++) job(id);
    await waitFor(async () => ((await a.status())?.backplane.cache.pending ?? 1) === 0, {
      timeoutMs: 60_000,
      what: 'A to write every kept message to JetStream',
    });

    // C comes back (a new life, on a surviving server) and the worker registers there again.
    await c.start();
    worker = await LineService.register(c.localUrl, 'worker');
    services.push(worker);
    await waitFor(() => new Set(ids(worker.inbox, 'JOB')).size >= 40, {
      timeoutMs: 60_000,
      what: `the 40 kept jobs on the restarted C (got ${ids(worker.inbox, 'JOB').join(',')})`,
    });
    const got = ids(worker.inbox, 'JOB');
    assert.deepEqual(
      [...new Set(got)].sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i + 20),
      `every job sent while C was down arrived (got ${got.join(',')})`,
    );
    const sa = await a.status();
    assert.ok((sa?.backplane.counters.unconfirmed ?? 0) + (sa?.backplane.cache.stored ?? 0) > 0);
  });
});
