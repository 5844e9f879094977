/**
 * The mesh in-process over real loopback sockets, each Mesh behind a minimal HubPort that records
 * what its "local services" receive. (The whole hub, processes and all, is in cluster.test.ts.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage, type Message } from '../core/message.js';
import { freePort, tempDir, waitFor } from '../core/test/support.js';
import { Mesh } from './mesh.js';
import { FAST_TIMINGS } from './timings.js';
import type { HubPort, LocalServiceSummary } from '../hub/remote.js';
import { makeTestPki } from '../core/test/certs.js';

class RecordingHub implements HubPort {
  mesh!: Mesh;
  services = new Map<string, Message[]>();
  notices: Message[] = [];
  stopped = '';
  constructor(readonly serverName: string) {}
  localServices(): LocalServiceSummary[] {
    return [...this.services.keys()].map((name) => ({ name, since: 1 }));
  }
  deliverLocal(msg: Message): void {
    const box = this.services.get(msg.to.service);
    if (box) box.push(msg);
    else this.notices.push(msg);
  }
  notifyLocal(msg: Message): void {
    this.notices.push(msg);
    for (const box of this.services.values())
      if (msg.to.service === '*' && msg.params.broadcast !== undefined) box.push(msg);
  }
  requestStop(reason: string): void {
    this.stopped = reason;
  }
  register(name: string): void {
    this.services.set(name, []);
    this.mesh.servicesChanged();
  }
  unregister(name: string): void {
    this.services.delete(name);
    this.mesh.servicesChanged();
  }
  /** What the hub does with a message from a local service. */
  send(msg: Message): ReturnType<Mesh['route']> | 'local' {
    const m = { ...msg, sentFrom: { server: this.serverName, service: msg.sentFrom.service } };
    if ((m.to.server === '' || m.to.server === this.serverName) && this.services.has(m.to.service)) {
      this.deliverLocal(m);
      return 'local';
    }
    return this.mesh.route(m);
  }
}

const dirs: { cleanup: () => Promise<void> }[] = [];
const meshes: Mesh[] = [];
after(async () => {
  await Promise.all(meshes.map((m) => m.stop()));
  await Promise.all(dirs.map((d) => d.cleanup()));
});

async function cluster(
  spec: Record<string, { ip: string; neighbors: string[] }>,
): Promise<Record<string, RecordingHub>> {
  const ports: Record<string, number> = {};
  for (const [name, s] of Object.entries(spec)) ports[name] = await freePort(s.ip);
  const hubs: Record<string, RecordingHub> = {};
  for (const [name, s] of Object.entries(spec)) {
    const dir = await tempDir();
    dirs.push(dir);
    const hub = new RecordingHub(name);
    hub.mesh = new Mesh(hub, {
      dataPath: dir.path,
      remoteListen: `cd://${s.ip}:${ports[name]}`,
      neighbors: s.neighbors.map((n) => `${spec[n]!.ip}:${ports[n]}`),
      maxConnections: 100,
      timings: FAST_TIMINGS,
    });
    meshes.push(hub.mesh);
    hubs[name] = hub;
  }
  await Promise.all(Object.values(hubs).map((h) => h.mesh.start()));
  return hubs;
}

void test('a line A-B-C: A reaches a service on C through B, and the reply comes back', async () => {
  const { A, C } = await cluster({
    A: { ip: '127.0.0.1', neighbors: ['B'] },
    B: { ip: '127.0.0.2', neighbors: ['A', 'C'] },
    C: { ip: '127.0.0.3', neighbors: ['B'] },
  });
  C!.register('echo');
  A!.register('client');
  await waitFor(() => A!.mesh.graph.hubsWithService('echo').length > 0, { what: 'echo known on A' });
  assert.equal(A!.mesh.graph.nextHop('C'), 'B');
  assert.equal(A!.send(createMessage('PING', { n: '1' }, { service: 'echo' }, { service: 'client' })), 'forwarded');
  const got = await waitFor(() => C!.services.get('echo')![0], { what: 'PING on C' });
  assert.deepEqual(got.sentFrom, { server: 'A', service: 'client' });
  assert.equal(
    C!.send(createMessage('PONG', {}, got.sentFrom, { service: 'echo' })),
    'forwarded',
    JSON.stringify(C!.mesh.status()),
  );
  const reply = await waitFor(() => A!.services.get('client')![0], { what: 'PONG on A' });
  assert.equal(reply.command, 'PONG');
  assert.ok(
    A!.notices.some((n) => n.command === 'STATUS' && n.params.service === 'echo' && n.params.server_name === 'C'),
  );
  const st = A!.mesh.status();
  assert.equal(st.cluster.up, true);
  assert.equal(st.cluster.total, 3);
});

void test('TLS links: wrong credentials three times block the address (no reply); right credentials link, with mutual TLS', async () => {
  const pki = makeTestPki();
  try {
    const portA = await freePort('127.0.0.1');
    const dir = await tempDir();
    dirs.push(dir);
    const tls = { certificate: pki.certificate, privateKey: pki.privateKey, ca: pki.ca };
    const A = new RecordingHub('A');
    A.mesh = new Mesh(A, {
      dataPath: dir.path,
      remoteListen: `cds://admin:s3cret@127.0.0.1:${portA}`,
      tls,
      neighbors: [],
      maxConnections: 100,
      timings: { ...FAST_TIMINGS, authBlockMs: 60_000 },
    });
    meshes.push(A.mesh);
    await A.mesh.start();
    const peer = async (name: string, ip: string, password: string): Promise<RecordingHub> => {
      const d = await tempDir();
      dirs.push(d);
      const h = new RecordingHub(name);
      h.mesh = new Mesh(h, {
        dataPath: d.path,
        remoteListen: `cds://admin:s3cret@${ip}:${await freePort(ip)}`,
        tls,
        neighbors: [`cds://admin:${password}@127.0.0.1:${portA}`],
        maxConnections: 100,
        timings: FAST_TIMINGS,
      });
      meshes.push(h.mesh);
      await h.mesh.start();
      return h;
    };
    const B = await peer('B', '127.0.0.2', 'wrong');
    const blocked = await waitFor(() => A.mesh.status().blocked.find((b) => b.address === '127.0.0.2'), {
      what: '127.0.0.2 blocked',
    });
    assert.equal(blocked.failures, 3);
    // Firewall services hear of it the communicator's way: BLOCK to every service that lists it.
    const block = A.notices.find((n) => n.command === 'BLOCK');
    assert.deepEqual(block?.params, {
      uri: '127.0.0.2',
      period: '1m',
      profile: 'system-login-attempts',
      reason: '3 hub link logins with wrong credentials',
    });
    assert.deepEqual(block?.to, { server: '', service: '*' });
    assert.equal(A.mesh.status().links.length, 0);
    assert.ok(B.mesh.status().neighbors[0]!.lastError, JSON.stringify(B.mesh.status().neighbors));
    const C = await peer('C', '127.0.0.3', 's3cret');
    await waitFor(() => A.mesh.status().links.some((l) => l.server === 'C' && l.secure), { what: 'C linked over TLS' });
    await waitFor(() => C.mesh.status().links.some((l) => l.server === 'A'), { what: 'C sees the link' });
    assert.equal(A.mesh.status().links.length, 1, 'B stays out');
  } finally {
    pki.cleanup();
  }
});

void test('REFUSE: a hub over its link limit refuses without a reason; a second hub with a taken name is refused as a conflict', async () => {
  const mk = async (
    name: string,
    ip: string,
    port: number,
    neighbors: string[],
    maxConnections = 100,
  ): Promise<RecordingHub> => {
    const d = await tempDir();
    dirs.push(d);
    const h = new RecordingHub(name);
    h.mesh = new Mesh(h, {
      dataPath: d.path,
      remoteListen: `cd://${ip}:${port}`,
      neighbors,
      maxConnections,
      timings: FAST_TIMINGS,
    });
    meshes.push(h.mesh);
    await h.mesh.start();
    return h;
  };
  const pa = await freePort('127.0.0.1');
  const A = await mk('A', '127.0.0.1', pa, [], 1);
  const B = await mk('B', '127.0.0.2', await freePort('127.0.0.2'), [`127.0.0.1:${pa}`]);
  await waitFor(() => A.mesh.status().links.length === 1, { what: 'B linked' });
  const C = await mk('C', '127.0.0.3', await freePort('127.0.0.3'), [`127.0.0.1:${pa}`]);
  await waitFor(() => C.mesh.status().neighbors[0]!.lastError === 'refused: too many connections', {
    what: 'C refused',
  });
  const pd = await freePort('127.0.0.4');
  const D = await mk('D', '127.0.0.4', pd, []);
  await mk('B', '127.0.0.5', await freePort('127.0.0.5'), [
    `127.0.0.4:${pd}`,
    `127.0.0.2:${B.mesh.address.split(':')[1]}`,
  ]);
  await waitFor(() => D.mesh.status().links.some((l) => l.server === 'B'), { what: 'the second B linked to D' });
  const second = meshes.at(-1)!;
  await waitFor(() => second.status().neighbors.some((n) => n.lastError === 'refused: name conflict (B)'), {
    what: 'the first B refused a second B',
  });
  assert.equal(B.mesh.status().links.length, 1, 'B keeps its link to A only');
});

void test('a neighbor that does not answer: local services hear UNREACHABLE once, the hub keeps retrying', async () => {
  const closed = await freePort('127.0.0.2');
  const d = await tempDir();
  dirs.push(d);
  const h = new RecordingHub('A');
  h.mesh = new Mesh(h, {
    dataPath: d.path,
    remoteListen: `cd://127.0.0.3:${await freePort('127.0.0.3')}`,
    neighbors: [`127.0.0.2:${closed}`],
    maxConnections: 100,
    timings: { ...FAST_TIMINGS, reconnectMs: 50 },
  });
  meshes.push(h.mesh);
  await h.mesh.start();
  const notice = await waitFor(() => h.notices.find((m) => m.command === 'UNREACHABLE'), { what: 'UNREACHABLE' });
  assert.equal(notice.params.who, `127.0.0.2:${closed}`);
  await waitFor(
    () =>
      (h.mesh.status().neighbors[0]?.lastError ?? '').includes('ECONNREFUSED') &&
      h.mesh.status().neighbors[0]!.nextAttempt,
    { what: 'a retry scheduled' },
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.notices.filter((m) => m.command === 'UNREACHABLE').length, 1, 'told once, not at every retry');
});
