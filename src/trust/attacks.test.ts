/**
 * Issue 12's attacks, performed as an attacker would, on the listeners `npm start` opens (loopback
 * TCP, the Unix socket, TLS, WebSocket, UDP signals): each one gets its refusal, over every
 * transport where it applies. Then the same attacks against a hub with `local_trust=full`
 * (communicatord's trust-every-local-connection), where the identity ones succeed: the switch
 * is real. What is not an identity question stays refused there too: a web page is never a
 * local connection one chose to trust (the HTTP guard, the WebSocket Origin check).
 *
 * The browser (Chromium on another origin) and a second local user (`runuser -u nobody`) are
 * in browser-attacks.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Channel } from '../core/channel.js';
import { decodeLine, encodeText } from '../core/codec/index.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { getLogger } from '../core/log.js';
import { openDispatchDb } from '../dispatch/open.js';
import { startAgent, startDispatcher } from '../dispatch/run.js';
import { connectorEnv as syncConnectorEnv } from '../sync/env.js';
import { pluginEnv } from '../sync/goplugin/session.js';
import { runShell } from '../sync/shell.js';
import { SERVICES, needService, tempDir, waitFor } from '../core/test/support.js';
import { makeTestPki, type TestPki } from '../core/test/certs.js';
import { connect } from '../core/transports/index.js';
import type { Hub } from '../hub/hub.js';
import { hubPort, sendDatagram, startTestHub } from '../hub/test/support.js';
import { tokenDigest } from './policy.js';
import { connect as natsConnect } from 'nats';
import type { MeshStatus } from '../core/protocol/index.js';
import { formatMeshStatus } from '../mesh/cluster-status.js';
import { startMeshHub } from '../dashboard/test/mesh-hubs.js';

type Kind = 'tcp' | 'unix' | 'tls' | 'ws';
const KINDS: Kind[] = ['tcp', 'unix', 'tls', 'ws'];
const BILLING_TOKEN = 'billing-token-0123456789abcdef';
const quiet = getLogger('attacks');

let pki: TestPki;
const homes: { cleanup: () => Promise<void> }[] = [];
const open: Channel[] = [];

/** A hub with every listener; the Unix socket is shared with a group (unix_group), as a host's services would share it. */
async function startHub(localTrust: 'roles' | 'full'): Promise<Hub> {
  const home = await tempDir('sb-attacks-');
  homes.push(home);
  const hub = await startTestHub({
    localTrust,
    unixListen: `cd://${join(home.path, 'hub.sock')}`,
    unixGroup: execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim(),
    secureListen: 'cds://127.0.0.1:0',
    certificate: pki.certificate,
    privateKey: pki.privateKey,
    wsListen: 'ws://127.0.0.1:0/',
    identities: JSON.stringify({ billing: { role: 'local', token_sha256: tokenDigest(BILLING_TOKEN) } }),
  });
  // The built-in sync service, in-process as `switchboard start` runs it: it answers with every account's options.
  const sync = hub.connectInProcess('sync');
  sync.on('frame', (frame) => {
    const m = decodeLine(frame);
    if (m.command === 'LIST_ACCOUNTS')
      sync.send(
        encodeText(createMessage('ACCOUNTS', { accounts: '[{"name":"crm","options":{"api_key":"k"}}]' }, m.sentFrom)),
      );
  });
  sync.send('REGISTER service=sync;version=1;commands=LIST_ACCOUNTS');
  await waitFor(() => hub.services.get('sync')?.up, { what: 'the in-process sync service' });
  return hub;
}

function url(hub: Hub, kind: Kind): string {
  const listener = { tcp: 'local', unix: 'unix', tls: 'secure', ws: 'ws' }[kind];
  return hub.addresses.find((a) => a.kind === listener)!.url;
}

/** A connection as an attacking process opens it, and what it receives. */
class Attacker {
  private readonly got: Message[] = [];
  private waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  closed = false;

  private constructor(readonly channel: Channel) {
    channel.on('frame', (f) => {
      const m = decodeLine(f);
      const i = this.waiters.findIndex((w) => w.test(m));
      if (i !== -1) this.waiters.splice(i, 1)[0]!.resolve(m);
      else this.got.push(m);
    });
    channel.on('close', () => {
      this.closed = true;
    });
  }

  static async on(hub: Hub, kind: Kind): Promise<Attacker> {
    const ch = await connect(url(hub, kind), kind === 'tls' ? { ca: pki.ca } : {});
    open.push(ch);
    return new Attacker(ch);
  }

  send(line: string): void {
    this.channel.send(line);
  }

  next(command: string, timeoutMs = 5000): Promise<Message> {
    const i = this.got.findIndex((m) => m.command === command);
    if (i !== -1) return Promise.resolve(this.got.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${command} within ${timeoutMs} ms on ${this.channel.transport}`)),
        timeoutMs,
      );
      this.waiters.push({
        test: (m) => m.command === command,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** The sentence of the INVALID that answers `command`. */
  async refusal(command: string): Promise<string> {
    for (;;) {
      const m = await this.next('INVALID');
      if (m.params.command === command) return String(m.params.message);
    }
  }
}

/** A web page's `fetch('http://127.0.0.1:PORT/', {method: 'POST', mode: 'no-cors', body})`, as the bytes reach the hub. */
function httpPost(body: string, port: number): string {
  return (
    `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: https://evil.example\r\n` +
    `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Sends `bytes` on a raw socket; resolves with what came back once the hub closed it (or after 3 s: still open). */
function rawExchange(
  bytes: string,
  target: { port: number; tls?: boolean },
): Promise<{ closed: boolean; reply: string }> {
  return new Promise((resolve) => {
    const socket = target.tls
      ? tlsConnect({ host: '127.0.0.1', port: target.port, ca: pki.caPem, servername: 'localhost' })
      : netConnect(target.port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, reply });
    }, 3000);
    socket.on(target.tls ? 'secureConnect' : 'connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, reply });
    });
  });
}

/** A WebSocket handshake as a page of `origin` makes it: the HTTP status it gets, or 101 when it is accepted. */
function wsHandshake(target: string, origin: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(target, { headers: { Origin: origin } });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

before(() => {
  pki = makeTestPki();
});

after(async () => {
  for (const ch of open) ch.close();
  for (const h of homes) await h.cleanup();
  pki.cleanup();
});

void describe('local_trust=roles (the default): every attack is refused', () => {
  let hub: Hub;
  before(async () => {
    hub = await startHub('roles');
  });
  after(async () => {
    await hub.stop('tests done');
  });

  void test('a web page POSTs "STOP" to the hub (TCP, TLS): the HTTP request closes the connection unanswered, logged as a cross-protocol attempt', async () => {
    const before = hub.refusals.total('http');
    const tcp = await rawExchange(httpPost('STOP\nsync/SYNC accounts=crm\n', hubPort(hub)), { port: hubPort(hub) });
    assert.equal(tcp.closed, true, 'the hub closed the connection');
    assert.doesNotMatch(tcp.reply, /SYNC|STOP/);
    const tlsPort = Number(new URL(url(hub, 'tls')).port);
    const tls = await rawExchange(httpPost('STOP\n', tlsPort), { port: tlsPort, tls: true });
    assert.equal(tls.closed, true);
    assert.equal(hub.state, 'running');
    assert.equal(hub.refusals.total('http'), before + 2);
  });

  void test('a web page opens the WebSocket listener: a page of another site is refused at the handshake', async () => {
    const before = hub.refusals.total('origin');
    assert.equal(await wsHandshake(url(hub, 'ws'), 'https://evil.example'), 403);
    assert.equal(await wsHandshake(url(hub, 'ws'), 'null'), 403, 'a sandboxed frame or a file: page');
    assert.equal(hub.refusals.total('origin'), before + 2);
    // A program (no Origin) connects, as clients always could.
    const program = await Attacker.on(hub, 'ws');
    program.send('ALIVE');
    await program.next('ABSOLUTELY');
  });

  for (const kind of KINDS) {
    void test(`${kind}: reading the sync service (every account's options) needs a grant: refused`, async () => {
      const a = await Attacker.on(hub, kind);
      a.send(`REGISTER service=spy_${kind};version=1`);
      await a.next('READY');
      a.send('sync/LIST_ACCOUNTS');
      assert.match(
        await a.refusal('LIST_ACCOUNTS'),
        /may not send to "sync", a built-in service: roles\.local\.send must name it exactly/,
      );
    });

    void test(`${kind}: REGISTER service=sync;instance=true (becoming sync#2 to take half of its requests) is refused; so is dispatcher, and another identity's service`, async () => {
      const a = await Attacker.on(hub, kind);
      for (const name of ['sync', 'dispatcher']) {
        a.send(`REGISTER service=${name};version=1;instance=true`);
        assert.match(
          await a.refusal('REGISTER'),
          new RegExp(`service name "${name}" is reserved for the hub's built-in service`),
        );
      }
      assert.equal(hub.services.get('sync')!.instances.length, 1, 'sync has its one instance');
      // `billing` registered by the identity its token proves: nobody else joins it.
      const billing = await Attacker.on(hub, 'tcp');
      billing.send(`REGISTER service=billing_${kind};version=1;password=${BILLING_TOKEN}`);
      await billing.next('READY');
      a.send(`REGISTER service=billing_${kind};version=1;instance=true`);
      assert.match(
        await a.refusal('REGISTER'),
        new RegExp(
          `service "billing_${kind}" is registered by identity "billing"; another instance joins it only under that identity`,
        ),
      );
    });

    void test(`${kind}: STOP, SHUTDOWN, FORGET and SNIFF (an agent's token in DISPATCH) are refused, naming the rule`, async () => {
      const a = await Attacker.on(hub, kind);
      for (const line of ['STOP', 'SHUTDOWN', 'FORGET ip=127.0.0.2', 'SNIFF command=DISPATCH']) {
        const command = line.split(' ')[0]!;
        a.send(line);
        const sentence = await a.refusal(command);
        assert.match(sentence, new RegExp(`may not use ${command}: roles\\.local\\.commands does not name it`));
        assert.match(sentence, /the admin token is in \$SWITCHBOARD_HOME\/hub\.token/);
      }
      // The connection stays open and useful, and nothing was stopped or tapped.
      a.send('ALIVE');
      await a.next('ABSOLUTELY');
      assert.equal(hub.state, 'running');
      assert.equal(hub.tap.sniffing, false);
    });
  }

  void test('udp: STOP and SHUTDOWN without the signal secret are dropped and counted; ordinary signals still pass', async () => {
    const before = hub.refusals.total('commands');
    await sendDatagram(hubPort(hub, 'signal'), 'STOP', 0);
    await sendDatagram(hubPort(hub, 'signal'), 'SHUTDOWN', 0);
    await waitFor(() => hub.refusals.total('commands') === before + 2, { what: 'two refused datagrams' });
    assert.equal(hub.state, 'running');
  });

  void test('guessing tokens: AUTH with a wrong token is refused; the third failure closes the connection', async () => {
    const a = await Attacker.on(hub, 'tcp');
    for (let i = 1; i <= 3; i++) {
      a.send(`AUTH token=sbh_guess${i}guessguessguess`);
      assert.match(await a.refusal('AUTH'), /the token proves no identity of this hub/);
    }
    await waitFor(() => a.closed, { what: 'the connection closed after three failures' });
  });

  void test('the admin token (hub.token) unlocks what the local role may not do, on the same connection', async () => {
    const a = await Attacker.on(hub, 'tcp');
    a.send(`AUTH token=${hub.adminToken}`);
    assert.deepEqual((await a.next('AUTHENTICATED')).params, { identity: 'admin', role: 'admin' });
    a.send('SNIFF command=NOTHING_REAL');
    await a.next('SNIFFING');
    a.send('UNSNIFF');
  });

  void test("the README's nc session works unchanged for an unauthenticated local process", async () => {
    // The two terminals of the README's "Talk to it with nothing but nc", typed as written.
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /Talk to it with nothing but `nc`[^]*?```sh\n([^]*?)```/.exec(readme)![1]!;
    const terminals = block
      .split('$ nc 127.0.0.1 4040\n')
      .slice(1)
      .map((t) => t.split('\n').filter((l) => l.trim() !== ''));
    assert.equal(terminals.length, 2);
    const typed = (t: string[]) => t.filter((l) => !l.startsWith('<'));
    const expected = (t: string[]) =>
      t.filter((l) => l.startsWith('<')).map((l) => decodeLine(l.split('  ')[0]!).command);
    const clock = await Attacker.on(hub, 'tcp');
    for (const line of typed(terminals[0]!)) clock.send(line);
    const [help, ready, time] = expected(terminals[0]!) as [string, string, string];
    await clock.next(help);
    await clock.next(ready);
    const caller = await Attacker.on(hub, 'tcp');
    for (const line of typed(terminals[1]!)) caller.send(line);
    assert.equal((await clock.next(time)).params.zone, 'UTC');
    for (const command of expected(terminals[1]!)) await caller.next(command);
    assert.deepEqual(expected(terminals[0]!), ['HELP', 'READY', 'TIME']);
    assert.deepEqual(expected(terminals[1]!), ['SERVICES', 'SERVICE_UNAVAILABLE']);
  });

  void test('refusals are counted by reason (switchboard_refusals_total)', () => {
    const totals = Object.fromEntries(hub.refusals.totals());
    for (const reason of ['http', 'origin', 'send', 'reserved', 'instances', 'commands', 'auth'])
      assert.ok((totals[reason] ?? 0) > 0, `${reason} refusals counted: ${JSON.stringify(totals)}`);
  });
});

void describe('local_trust=full (communicatord): the identity attacks succeed, so the switch is real', () => {
  let hub: Hub;
  before(async () => {
    hub = await startHub('full');
  });
  after(async () => {
    await hub.stop('tests done');
  });

  for (const kind of ['tcp', 'unix'] as const) {
    void test(`${kind}: an unauthenticated local process reads sync, becomes sync#2 and sniffs`, async () => {
      const a = await Attacker.on(hub, kind);
      a.send('REGISTER service=sync;version=1;instance=true');
      const ready = await a.next('READY');
      assert.notEqual(ready.params.instance, '1', 'a second instance of sync');
      a.send('sync#1/LIST_ACCOUNTS');
      assert.match(String((await a.next('ACCOUNTS')).params.accounts), /api_key/);
      a.send('SNIFF command=NOTHING_REAL');
      await a.next('SNIFFING');
      a.send('UNREGISTER');
    });
  }

  void test('what a web page does stays refused: the HTTP guard and the WebSocket Origin check are not trust settings', async () => {
    assert.equal((await rawExchange(httpPost('STOP\n', hubPort(hub)), { port: hubPort(hub) })).closed, true);
    assert.equal(await wsHandshake(url(hub, 'ws'), 'https://evil.example'), 403);
    assert.equal(hub.state, 'running');
  });

  void test('udp: STOP without the secret stops the hub', async () => {
    await sendDatagram(hubPort(hub, 'signal'), 'STOP', 0);
    assert.match(await hub.stopped, /^STOP from .*\(signal\)$/);
  });

  void test('tcp: STOP from any local process stops the hub', async () => {
    const other = await startHub('full');
    const a = await Attacker.on(other, 'tcp');
    a.send('STOP');
    await a.next('DISCONNECTING');
    assert.match(await other.stopped, /^STOP from /);
  });
});

void describe('cluster: a SHUTDOWN crossing hubs starts only from an identity allowed to send it', () => {
  before(() => {
    process.env.SWITCHBOARD_MESH_TIMINGS = 'fast';
    process.env.SWITCHBOARD_BACKPLANE_TIMINGS = 'fast';
  });

  void test("mesh (plain links): one user's hubs obey its admin's SHUTDOWN; another admin's hub refuses it and cluster-status lists it", async () => {
    const home = await tempDir('sb-attacks-mesh-');
    homes.push(home);
    const shared = join(home.path, 'hub.token');
    // a and b: one user's hubs (one admin token); c: somebody else's. A line a - b - c.
    const a = await startMeshHub({ name: 'a', ip: '127.0.0.1', scope: 'hub', tokenFile: shared });
    const b = await startMeshHub({
      name: 'b',
      ip: '127.0.0.2',
      scope: 'hub',
      tokenFile: shared,
      neighbors: [a.remote],
    });
    const c = await startMeshHub({ name: 'c', ip: '127.0.0.3', scope: 'hub', neighbors: [b.remote] });
    try {
      await waitFor(() => meshReach(c.hub) === 3, {
        what: 'c to reach a and b',
        timeoutMs: 30_000,
      });
      // The admin of c asks a's built-in sync: messages from other hubs get the network role's
      // grant, so a drops it (sync is reached through its own hub).
      const syncOnA = a.hub.connectInProcess('sync');
      const heard: string[] = [];
      syncOnA.on('frame', (f) => heard.push(f));
      syncOnA.send('REGISTER service=sync;version=1;commands=LIST_ACCOUNTS');
      await waitFor(() => a.hub.services.get('sync')?.up, { what: 'sync on a' });
      const sendRefusals = a.hub.refusals.total('send');
      const adminOfC = await Attacker.on(c.hub, 'tcp');
      adminOfC.send(`AUTH token=${c.hub.adminToken}`);
      await adminOfC.next('AUTHENTICATED');
      adminOfC.send('a:sync/LIST_ACCOUNTS');
      await waitFor(() => a.hub.refusals.total('send') > sendRefusals, { what: 'a to drop the message for sync' });
      assert.ok(!heard.some((f) => f.includes('LIST_ACCOUNTS')), 'sync on a heard nothing');
      // A local process on a without the admin token: refused at a, nothing crosses.
      const anon = await Attacker.on(a.hub, 'tcp');
      anon.send('SHUTDOWN');
      assert.match(await anon.refusal('SHUTDOWN'), /may not use SHUTDOWN/);
      // The admin of a and b.
      const admin = await Attacker.on(a.hub, 'tcp');
      admin.send(`AUTH token=${a.hub.adminToken}`);
      admin.send('SHUTDOWN');
      assert.match(await a.hub.stopped, /SHUTDOWN/);
      assert.match(await b.hub.stopped, /SHUTDOWN/);
      await waitFor(() => clusterRefusals(c.hub).length > 0, { what: 'c to refuse the SHUTDOWN' });
      assert.equal(c.hub.state, 'running');
      const [refused] = clusterRefusals(c.hub);
      assert.equal(refused!.command, 'SHUTDOWN');
      assert.match(refused!.peer, /^hub b \(127\.0\.0\.2:\d+, plain link\)$/);
      assert.match(refused!.why, /signed by "admin", but no token of an identity of that name on this hub signs it so/);
      assert.match(formatMeshStatus(meshStatusOf(c.hub)), /refused: SHUTDOWN from hub b/);
    } finally {
      for (const h of [a, b, c]) await h.stop();
    }
  });

  void test('backplane (NATS): anyone who can publish on its subjects cannot stop its hubs', async (t) => {
    if (!(await needService(t, 'nats'))) return;
    const namespace = `attacks${process.pid}`;
    const a = await startMeshHub({
      name: 'a',
      ip: '127.0.0.1',
      scope: 'hub',
      backplane: { servers: SERVICES.nats.url, namespace },
    });
    const b = await startMeshHub({
      name: 'b',
      ip: '127.0.0.1',
      scope: 'hub',
      backplane: { servers: SERVICES.nats.url, namespace },
    });
    try {
      await waitFor(() => meshReach(b.hub) === 2, { what: 'b to see a over NATS', timeoutMs: 30_000 });
      // The admin of a (not of b) shuts its cluster down: a stops, b refuses.
      const admin = await Attacker.on(a.hub, 'tcp');
      admin.send(`AUTH token=${a.hub.adminToken}`);
      admin.send('SHUTDOWN');
      assert.match(await a.hub.stopped, /SHUTDOWN/);
      await waitFor(() => clusterRefusals(b.hub).length > 0, { what: 'b to refuse the SHUTDOWN' });
      assert.match(clusterRefusals(b.hub)[0]!.peer, /^hub a \(backplane\)$/);
      // A NATS client publishing a SHUTDOWN of its own, with no proof.
      const nc = await natsConnect({ servers: SERVICES.nats.url });
      nc.publish(`${namespace}.ctl.SHUTDOWN`, JSON.stringify({ hub: 'rogue', epoch: 1 }));
      await nc.drain();
      await waitFor(() => clusterRefusals(b.hub).some((r) => r.peer === 'hub rogue (backplane)'), {
        what: 'the rogue SHUTDOWN refused',
      });
      assert.equal(b.hub.state, 'running');
    } finally {
      for (const h of [a, b]) await h.stop();
    }
  });
});

function meshStatusOf(hub: Hub): MeshStatus {
  return hub.remote()!.status() as MeshStatus;
}

function meshReach(hub: Hub): number {
  const remote = hub.remote();
  if (!remote) return 0;
  return meshStatusOf(hub).hubs.filter((h) => h.reachable).length;
}

function clusterRefusals(hub: Hub): NonNullable<MeshStatus['refused']> {
  return hub.clusterCommands.refused();
}

void describe("secrets: a connector is someone else's program and gets none of the hub's", () => {
  const SECRETS = {
    SWITCHBOARD_HTTP_TOKEN: 'sbt_http-secret-for-attacks',
    SWITCHBOARD_AMQP_URL: 'amqp://user:hunter2@127.0.0.1:5672',
    SWITCHBOARD_AGENT_TOKEN: 'sbt_agent-secret-for-attacks',
    DATABASE_PASSWORD: 'hunter2',
    ASKED_FOR: 'yes',
  };
  const leaked = (names: Iterable<string>): string[] => [...names].filter((n) => n in SECRETS && n !== 'ASKED_FOR');
  before(() => {
    Object.assign(process.env, SECRETS);
  });
  after(() => {
    for (const k of Object.keys(SECRETS)) delete process.env[k];
  });

  void test('an event agent (over the hub) starts its connector with the allow-list and what it asked for', async () => {
    const hub = await startTestHub();
    const home = await tempDir('sb-attacks-dispatch-');
    homes.push(home);
    const { db, close } = await openDispatchDb({ home: home.path });
    const address = `cd://127.0.0.1:${hubPort(hub)}`;
    const dispatcher = await startDispatcher({ db, hub: address, hubToken: hub.adminToken, log: quiet });
    try {
      const agent = await startAgent({
        command: [
          process.execPath,
          '--import',
          'tsx',
          fileURLToPath(new URL('../dispatch/test/fixtures/env-dump.ts', import.meta.url)),
        ],
        kind: 'dump',
        id: 'dump-attacks',
        token: await db.issueToken('dump'),
        dispatcher: address,
        env: { pass: ['ASKED_FOR'] },
        log: quiet,
      });
      try {
        const answer = new Promise<Record<string, JsonValue>>((resolve) =>
          agent.connector.on('result', (r) => {
            if (r.id === 'env-1' && 'outputs' in r) resolve(r.outputs);
          }),
        );
        await waitFor(() => agent.connector.sendTask({ id: 'env-1', key: 'env', inputs: { values: ['ASKED_FOR'] } }), {
          what: 'the connector to take a task',
        });
        const out = await answer;
        assert.deepEqual(leaked(out.names as string[]), []);
        assert.deepEqual(out.values, { ASKED_FOR: 'yes' });
      } finally {
        await agent.stop();
      }
    } finally {
      await dispatcher.stop();
      await close();
      await hub.stop();
    }
  });

  void test("sync: a connector's install command and its run (go-plugin, Airbyte) get the allow-list and what its manifest asks for", async () => {
    const home = await tempDir('sb-attacks-sync-');
    homes.push(home);
    // An install or update step that names no environment gets the allow-list, never process.env.
    await runShell('print the environment', 'env > env.txt', { cwd: home.path });
    const installed = readFileSync(join(home.path, 'env.txt'), 'utf8')
      .split('\n')
      .map((l) => l.slice(0, l.indexOf('=')));
    assert.deepEqual(leaked(installed), []);
    // What the go-plugin and Airbyte drivers start a connector with (manifest env: ASKED_FOR).
    const plugin = pluginEnv({ inheritEnv: ['ASKED_FOR'], env: { SWITCHBOARD_ACCOUNT: 'a' } });
    const airbyte = syncConnectorEnv(['ASKED_FOR'], { SWITCHBOARD_ACCOUNT: 'a' });
    for (const env of [plugin, airbyte]) {
      assert.deepEqual(leaked(Object.keys(env)), []);
      assert.equal(env.ASKED_FOR, 'yes');
      assert.equal(env.PATH, process.env.PATH);
    }
  });

  void test('a token on the command line is refused (ps shows it to every user)', async () => {
    const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
    const run = spawnSync(
      process.execPath,
      [bin, 'agent', '--kind', 'dump', '--token', 'sbt_visible', '--example', 'timer'],
      {
        env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /--token would show the secret to every user of this machine/);
  });
});

void test('a signal listener beyond loopback without signal_secret does not start, and says why', async () => {
  await assert.rejects(
    startTestHub({ signal: 'cdu://0.0.0.0:0' }),
    /listens beyond this machine without signal_secret: anyone who can reach it could send STOP/,
  );
});
