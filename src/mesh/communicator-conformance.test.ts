/**
 * Conformance to the communicator daemon's message definitions (vendored as facts in
 * src/hub/fixtures/communicator/messages.json), generated from them:
 * 1. the hub's table (src/hub/communicator-messages.ts CONFORMANCE, and PROTOCOL.md's copy of it)
 *    answers every message and every optional parameter;
 * 2. every message a service may send the hub, with all its parameters, is handled, taken as a
 *    notice, or refused with a sentence, never UNKNOWN;
 * 3. every message the hub sends, to its services or to other hubs, carries each parameter its
 *    definition requires: a meshed hub in-process is driven until it has sent each of them, with
 *    peer hubs played by the test over real links (JSON lines) and a TLS hub for BLOCK.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel } from '../core/channel.js';
import { createMessage, type Message } from '../core/message.js';
import { MessageConnection } from '../core/message-connection.js';
import { makeTestPki, type TestPki } from '../core/test/certs.js';
import { freePort, tempDir, waitFor } from '../core/test/support.js';
import { connect, listen, type Listener } from '../core/transports/index.js';
import { checkClock } from '../hub/clock-status.js';
import { HUB_COMMANDS, NOTICES } from '../hub/commands.js';
import {
  COMMUNICATOR_REFUSALS,
  CONFORMANCE,
  FALLBACK_COMMANDS,
  conformanceMarkdown,
} from '../hub/communicator-messages.js';
import type { Hub } from '../hub/hub.js';
import { LineClient, hubPort, startTestHub } from '../hub/test/support.js';
import { AcceptParams, ConnectParams, GossipParams } from './link-protocol.js';
import { Mesh } from './mesh.js';
import { FAST_TIMINGS } from './timings.js';

interface Definition {
  required: string[];
  optional: string[];
}
const DEFS = (
  JSON.parse(readFileSync(new URL('../hub/fixtures/communicator/messages.json', import.meta.url), 'utf8')) as {
    messages: Record<string, Definition>;
  }
).messages;
const NAMES = Object.keys(DEFS).sort();

// ---- 1. the table ------------------------------------------------------------------------------

void test('the table answers every message of the definitions and every optional parameter; PROTOCOL.md carries it', () => {
  assert.deepEqual(Object.keys(CONFORMANCE).sort(), NAMES, 'one entry per defined message, no more');
  const protocol = readFileSync(new URL('../hub/PROTOCOL.md', import.meta.url), 'utf8');
  const rows = new Set(
    protocol
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.replace(/\s+/g, ' ')),
  );
  for (const row of conformanceMarkdown().split('\n').slice(2))
    assert.ok(rows.has(row.replace(/\s+/g, ' ')), `PROTOCOL.md lacks the row: ${row}`);
  // Messages that travel on hub links: the mesh's readers take every parameter the definition names.
  const linkSchemas: Record<string, { shape: Record<string, unknown> }> = {
    CONNECT: ConnectParams,
    ACCEPT: AcceptParams,
    GOSSIP: GossipParams,
  };
  for (const name of NAMES) {
    const def = DEFS[name]!;
    const c = CONFORMANCE[name]!;
    assert.deepEqual(Object.keys(c.optional).sort(), [...def.optional].sort(), `${name}: optional parameters`);
    if (c.status === 'refused') assert.equal(c.fromService, 'refused', name);
    if (c.fromService === 'refused') assert.ok(COMMUNICATOR_REFUSALS.has(name), `${name}: a refusal sentence`);
    if (c.fromService === 'notice') assert.ok(NOTICES.has(name), `${name}: a notice`);
    if (c.fromService === 'handled')
      assert.ok(
        HUB_COMMANDS.includes(name) || FALLBACK_COMMANDS.includes(name) || ['FORGET', 'SHUTDOWN'].includes(name),
        `${name}: a hub command`,
      );
    const schema = linkSchemas[name];
    if (schema)
      for (const p of [...def.required, ...def.optional]) assert.ok(p in schema.shape, `${name}: the mesh reads ${p}`);
  }
});

// ---- the cluster the other tests drive ------------------------------------------------------------

/** A hub played by the test on one link: JSON lines; answers ALIVE so the link stays up. */
class PeerEnd {
  readonly got: Message[] = [];
  readonly conn: MessageConnection;
  constructor(channel: Channel) {
    this.conn = new MessageConnection(channel, { format: 'json' });
    this.conn.listen({
      message: ({ message }) => {
        this.got.push(message);
        if (message.command === 'ALIVE') this.conn.send(createMessage('ABSOLUTELY', { ...message.params }));
      },
      invalid: () => undefined,
      close: () => undefined,
    });
  }
  send(msg: Message): void {
    this.conn.send(msg);
  }
  find(command: string): Promise<Message> {
    return waitFor(() => this.got.find((m) => m.command === command), { what: `${command} on a link` });
  }
  close(): void {
    this.conn.close();
  }
}

const IP = { f1: '127.0.0.1', h: '127.0.0.2', f3: '127.0.0.3', h2: '127.0.0.4' };
let pki: TestPki;
let hub: Hub;
let mesh: Mesh;
let port: { h: number; f1: number; f3: number; dead: number };
let watcher: LineClient;
let asker: LineClient;
const f1: PeerEnd[] = [];
const f3: PeerEnd[] = [];
const listeners: Listener[] = [];
const clients: LineClient[] = [];
const peers: PeerEnd[] = [];
const hubs: Hub[] = [];
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
/** Every message the hub sent that the test saw, to services or to hubs. */
const sent: Message[] = [];

async function peerListener(ip: string, onFirst: (end: PeerEnd, first: Message) => void, into: PeerEnd[]) {
  const l = await listen(`cd://${ip}:0`, {}, (channel) => {
    const end = new PeerEnd(channel);
    into.push(end);
    peers.push(end);
    void waitFor(() => end.got[0], { what: 'a first message' }).then((m) => onFirst(end, m));
  });
  listeners.push(l);
  return Number(new URL(l.address).port);
}

async function dial(): Promise<PeerEnd> {
  const end = new PeerEnd(await connect(`cd://${IP.h}:${port.h}`));
  peers.push(end);
  return end;
}

async function client(register?: string): Promise<LineClient> {
  const c = register
    ? await LineClient.register(hubPort(hub), register, `;commands=${NAMES.join(',')}`)
    : await LineClient.connect(hubPort(hub));
  clients.push(c);
  return c;
}

before(async () => {
  pki = makeTestPki();
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  port = { h: await freePort(IP.h), f1: 0, f3: 0, dead: await freePort(IP.f1) };
  // f1 (a smaller address) is dialed: it accepts and floods its state, so h can route to it.
  port.f1 = await peerListener(
    IP.f1,
    (end, first) => {
      if (first.command !== 'CONNECT') return;
      end.send(
        createMessage('ACCEPT', { server_name: 'f1', my_address: `${IP.f1}:${port.f1}`, epoch: String(Date.now()) }),
      );
      end.send(
        createMessage('LINK_STATE', {
          origin: 'f1',
          epoch: Date.now(),
          seq: 1,
          address: `${IP.f1}:${port.f1}`,
          links: ['h'],
          services: [],
        }),
      );
    },
    f1,
  );
  // f3 (a larger address) is told to dial h: GOSSIP, answered RECEIVED.
  port.f3 = await peerListener(
    IP.f3,
    (end, first) => {
      if (first.command === 'GOSSIP') end.send(createMessage('RECEIVED'));
    },
    f3,
  );
  hub = await startTestHub({ serverName: 'h' });
  hubs.push(hub);
  watcher = await client('watcher');
  asker = await client();
  mesh = new Mesh(hub, {
    dataPath: dir.path,
    remoteListen: `cd://${IP.h}:${port.h}`,
    neighbors: [`${IP.f1}:${port.f1}`, `${IP.f3}:${port.f3}`, `${IP.f1}:${port.dead}`],
    maxConnections: 100,
    timings: FAST_TIMINGS,
    sampleLoad: () => 0.5,
  });
  hub.attachRemote(mesh);
  // As the mesh extension wires it: CLUSTER_STATUS answered on the asking connection.
  hub.addCommand('CLUSTER_STATUS', (_msg, reply) => {
    for (const [command, params] of mesh.clusterStatusReplies()) reply(command, params);
  });
  await mesh.start();
  await waitFor(() => mesh.graph.distance('f1') === 1, { what: 'h linked to f1' });
});

after(async () => {
  for (const c of clients) c.close();
  for (const p of peers) p.close();
  await Promise.all(hubs.map((h) => h.stop('tests done')));
  await Promise.all(listeners.map((l) => l.close()));
  for (const c of cleanups) await c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  pki.cleanup();
});

// ---- 2. what services send the hub ---------------------------------------------------------------

const VALUES: Record<string, string> = {
  service: 'conformance',
  version: '1',
  password: 'not-a-token',
  ips: '10.9.9.9',
  ip: '10.9.9.8',
  uri: '10.9.9.7',
  period: '1h',
  profile: 'test',
  reason: 'conformance',
  cache: 'no',
  status: 'up',
  command: 'PING',
  who: '10.9.9.6:4042',
  server_name: 'elsewhere',
  my_address: '10.9.9.6:4042',
  neighbors_count: '1',
  avg: '0.5',
  timestamp: String(Math.floor(Date.now() / 1000)),
  public_ip: '10.9.9.6:4042',
  secure_ip: '10.9.9.6:4043',
  clock_resolution: 'verified',
  clock_error: 'checking',
  conflict: 'elsewhere',
  shutdown: 'true',
  services: 'a,b',
  heard_of: '10.9.9.5:4042',
  neighbors: '10.9.9.4:4042',
  username: 'someone',
  server: 'elsewhere',
  up_since: '1733220000',
  down_since: '1733220000',
};
/** Replies that come later than the next message's answer (a clock check, a load reading). */
const ASYNC = new Set(['CLOCK_STABLE', 'CLOCK_UNSTABLE', 'LOADAVG', 'STATUS', 'HELP']);

void test('every message a service may send the hub, with all its parameters: handled, a notice, or refused with a sentence', async () => {
  const c = await client();
  let serial = 0;
  for (const name of NAMES) {
    // SHUTDOWN stops the cluster: the last step of the next test sends it.
    if (name === 'SHUTDOWN') continue;
    const def = DEFS[name]!;
    const params = [...def.required, ...def.optional].map((p) => `${p}=${VALUES[p] ?? 'x'}`).join(';');
    c.send(params ? `${name} ${params}` : name);
    c.send(`ALIVE serial=${++serial}`);
    const answers: Message[] = [];
    for (;;) {
      const m = await c.next(() => true);
      if (m.command === 'ABSOLUTELY' && m.params.serial === String(serial)) break;
      if (!ASYNC.has(m.command)) answers.push(m);
    }
    const what = `${name} -> ${answers.map((m) => `${m.command} ${JSON.stringify(m.params)}`).join(' | ') || 'nothing'}`;
    assert.ok(!answers.some((m) => m.command === 'UNKNOWN'), what);
    const c11 = CONFORMANCE[name]!;
    if (c11.fromService === 'notice') assert.deepEqual(answers, [], `a notice is never answered: ${what}`);
    if (c11.fromService === 'refused') {
      assert.equal(answers.length, 1, what);
      assert.equal(answers[0]!.command, 'INVALID', what);
      assert.equal(answers[0]!.params.message, COMMUNICATOR_REFUSALS.get(name)!(true), what);
    }
    if (c11.fromService === 'handled')
      assert.ok(!answers.some((m) => /not supported/.test(String(m.params.message ?? ''))), what);
  }
});

// ---- 3. what the hub sends -------------------------------------------------------------------------

function toolDir(tools: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-conformance-tools-'));
  dirs.push(dir);
  for (const [name, script] of Object.entries(tools)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

/** A TLS hub h2 with credentials: three wrong logins from one address make it send BLOCK. */
async function blockFromTlsHub(): Promise<Message> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const h2 = await startTestHub({ serverName: 'h2' });
  hubs.push(h2);
  const fw = await LineClient.register(hubPort(h2), 'ipwall', ';commands=BLOCK');
  clients.push(fw);
  const p = await freePort(IP.h2);
  const m2 = new Mesh(h2, {
    dataPath: dir.path,
    remoteListen: `cds://admin:s3cret@${IP.h2}:${p}`,
    tls: { certificate: pki.certificate, privateKey: pki.privateKey, ca: pki.ca },
    neighbors: [],
    maxConnections: 100,
    timings: FAST_TIMINGS,
  });
  h2.attachRemote(m2);
  await m2.start();
  for (let i = 0; i < 3; i++) {
    const end = new PeerEnd(
      await connect(`cds://${IP.h2}:${p}`, {
        ca: pki.caPem,
        certificate: pki.certificatePem,
        privateKey: pki.privateKeyPem,
      }),
    );
    peers.push(end);
    end.send(
      createMessage('CONNECT', {
        version: '1',
        my_address: `${IP.f1}:1`,
        server_name: 'intruder',
        username: 'admin',
        password: 'wrong',
      }),
    );
    await waitFor(() => !end.conn.open, { what: 'the wrong login closed without a reply' });
  }
  return fw.next('BLOCK');
}

void test('every message the hub sends carries the parameters its definition requires', async () => {
  // To services: the hub's replies and notices.
  asker.send('PUBLIC_IP');
  asker.send('CLUSTER_STATUS');
  asker.send('CLOCK_STATUS');
  asker.send('REGISTER_FOR_LOADAVG');
  asker.send('nobody/PING transmission_report=failure;cache=no');
  for (const command of ['SERVER_PUBLIC_IP', 'CLUSTER_UP', 'CLUSTER_COMPLETE', 'LOADAVG', 'TRANSMISSION_REPORT'])
    await asker.next(command);
  await asker.next((m) => m.command.startsWith('CLOCK_'), 10_000);
  // Both clock answers, as the check makes them for the hub.
  for (const tools of <Record<string, string>[]>[
    { chronyc: "printf 'Leap status     : Normal\\n'" },
    { ntpstat: 'exit 1' },
  ]) {
    const s = await checkClock({ PATH: toolDir(tools) });
    sent.push(createMessage(s.command, { ...s.params }));
  }
  const app = await client('app'); // STATUS up to the watcher
  app.close();

  // Between hubs: h dialed f1 (CONNECT) and gossiped to f3 (GOSSIP); peers that dial h get ACCEPT, REFUSE, RECEIVED.
  await f1[0]!.find('CONNECT');
  await waitFor(() => f3[0]?.got.find((m) => m.command === 'GOSSIP'), { what: 'GOSSIP to f3' });
  const conflict = await dial();
  conflict.send(createMessage('CONNECT', { version: '1', my_address: `${IP.f3}:9`, server_name: 'h' }));
  await conflict.find('REFUSE');
  const gossip = await dial();
  gossip.send(createMessage('GOSSIP', { my_address: `${IP.f3}:${port.f3}` }));
  await gossip.find('RECEIVED');
  const d3 = await dial();
  d3.send(createMessage('CONNECT', { version: '1', my_address: `${IP.f1}:${port.dead}`, server_name: 'd3' }));
  await d3.find('ACCEPT');
  // The load exchange: h asks f1 (LISTEN_LOADAVG), f1 asks h; f1's reading reaches the watcher.
  asker.send('LISTEN_LOADAVG ips=f1');
  await f1[0]!.find('REGISTER_FOR_LOADAVG');
  f1[0]!.send(createMessage('REGISTER_FOR_LOADAVG', { cache: 'no' }, { server: 'h' }, { server: 'f1' }));
  await f1[0]!.find('LOADAVG');
  f1[0]!.send(
    createMessage(
      'LOADAVG',
      { avg: '0.25', my_address: `${IP.f1}:${port.f1}`, timestamp: '1733220000.000001', cache: 'no' },
      { server: 'h' },
      { server: 'f1' },
    ),
  );
  await watcher.next((m) => m.command === 'LOADAVG' && m.sentFrom.server === 'f1');
  mesh.handleCommand(createMessage('FORGET', { ip: '10.9.9.3' }, {}, { server: 'h', service: 'test' }));
  await f1[0]!.find('FORGET');
  // f1 goes without a word: DISCONNECTED, HANGUP, and a cluster of two with one up is down and incomplete.
  f1[0]!.close();
  for (const command of [
    'NEW_REMOTE_CONNECTION',
    'UNREACHABLE',
    'DISCONNECTED',
    'HANGUP',
    'CLUSTER_DOWN',
    'CLUSTER_INCOMPLETE',
    'STATUS',
  ])
    await waitFor(() => watcher.received.some((m) => m.command === command), { what: `${command} to the watcher` });
  sent.push(await blockFromTlsHub());
  // Last: SHUTDOWN of the cluster (SHUTDOWN and DISCONNECT on the links, DISCONNECTING to connections).
  mesh.handleCommand(createMessage('SHUTDOWN', {}, {}, { server: 'h', service: 'test' }));
  await d3.find('SHUTDOWN');
  await d3.find('DISCONNECT');
  await asker.next('DISCONNECTING');

  sent.push(...watcher.received, ...asker.received);
  for (const end of peers) sent.push(...end.got.filter((m) => m.sentFrom.server !== 'intruder'));
  const missing: string[] = [];
  for (const name of NAMES) {
    if (!CONFORMANCE[name]!.sent) continue;
    const seen = sent.filter((m) => m.command === name);
    if (seen.length === 0) missing.push(name);
    for (const m of seen)
      for (const p of DEFS[name]!.required)
        assert.ok(
          m.params[p] !== undefined,
          `${name} from ${m.sentFrom.server || 'a link'} lacks ${p}: ${JSON.stringify(m.params)}`,
        );
  }
  assert.deepEqual(missing, [], 'the scenario made the hub send every message it sends');
});
