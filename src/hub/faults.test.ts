/**
 * Bad input and faults, each against a real hub: a clear reply or log line, other services
 * unaffected, the hub alive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { waitFor } from '../core/test/support.js';
import type { MemoryChannel } from '../core/transports/memory.js';
import type { Hub } from './hub.js';
import { LineClient, hubPort, sendDatagram, startTestHub } from './test/support.js';

let hub: Hub;
let port: number;
let udp: number;
let bystander: LineClient;
const clients: LineClient[] = [];

async function reg(service: string, extra = ''): Promise<LineClient> {
  const c = await LineClient.register(port, service, extra);
  clients.push(c);
  return c;
}

/** The hub still routes: a message to the bystander arrives. */
async function stillRouting(tag: string): Promise<void> {
  const probe = await LineClient.connect(port);
  try {
    probe.send(`bystander/PROBE tag=${tag}`);
    await bystander.next((m) => m.command === 'PROBE' && m.params.tag === tag);
    assert.equal(hub.state, 'running');
  } finally {
    probe.close();
  }
}

before(async () => {
  hub = await startTestHub({
    maxConnections: 20,
    maxLineLength: 4096,
    maxQueuedBytes: 64 * 1024,
    slowConsumerTimeout: 300,
    signalSecret: 'sesame',
  });
  port = hubPort(hub);
  udp = hubPort(hub, 'signal');
  bystander = await reg('bystander', ';commands=PROBE');
});

after(async () => {
  for (const c of clients) c.close();
  await hub.stop('tests done');
});

void test('malformed lines get INVALID with the reason; the connection stays usable', async () => {
  const c = await LineClient.connect(port);
  clients.push(c);
  c.send('lowercase/command');
  const a = await c.next('INVALID');
  assert.match(String(a.params.message), /command "command" is not valid/);
  c.send('svc/CMD name-with-dash=1');
  assert.match(String((await c.next('INVALID')).params.message), /parameter "name-with-dash" is not valid/);
  c.send('svc/CMD broken="unterminated');
  const b = await c.next('INVALID');
  assert.equal(b.params.command, 'CMD', 'the command is named when it could be read');
  c.send('{"command": 5}');
  assert.match(String((await c.next('INVALID')).params.message), /command/);
  c.send('FROBNICATE');
  assert.equal((await c.next('UNKNOWN')).params.command, 'FROBNICATE');
  await stillRouting('malformed');
});

void test('an oversized line gets INVALID and a close; others keep working', async () => {
  const c = await LineClient.connect(port);
  clients.push(c);
  c.write(`svc/BIG data=${'x'.repeat(10_000)}\n`);
  const inv = await c.next('INVALID');
  assert.match(String(inv.params.message), /longer than|too long|limit/i);
  await c.closed;
  await stillRouting('oversized');
});

void test('an unterminated line is held without blocking anyone; its newline completes it', async () => {
  const slow = await reg('half_sender');
  slow.write('bystander/PROBE tag=ha');
  await stillRouting('during-partial');
  slow.write('lf\n');
  await bystander.next((m) => m.params.tag === 'half');
});

void test('a client that disconnects mid-message: the partial line is discarded, its registration removed', async () => {
  const watcher = await reg('mid_watcher', ';commands=STATUS');
  const c = await reg('mid_leaver');
  c.write('bystander/PROBE tag=never-finished;data=abc');
  c.close();
  const down = await watcher.next(
    (m) => m.command === 'STATUS' && m.params.service === 'mid_leaver' && m.params.status === 'down',
  );
  assert.equal(down.params.status, 'down');
  assert.ok(!bystander.received.some((m) => m.params.tag === 'never-finished'));
  await stillRouting('after-mid-message');
});

void test('UDP: oversized datagrams and wrong secrets are dropped, REGISTER is refused, a good signal is routed', async () => {
  const before = hub.faults.refusedSignals;
  assert.equal(
    await sendDatagram(udp, `bystander/PROBE secret_code=sesame;tag=big;data=${'y'.repeat(1100)}`, 150),
    undefined,
  );
  assert.equal(await sendDatagram(udp, 'bystander/PROBE secret_code=wrong;tag=wrong', 150), undefined);
  assert.equal(await sendDatagram(udp, 'bystander/PROBE tag=nosecret', 150), undefined);
  const refused = await sendDatagram(udp, 'REGISTER service=udp_svc;secret_code=sesame', 2000);
  assert.match(refused ?? '', /INVALID command=REGISTER;message=REGISTER is not accepted over UDP/);
  await sendDatagram(udp, 'bystander/PROBE secret_code=sesame;tag=signal', 50);
  const got = await bystander.next((m) => m.params.tag === 'signal');
  assert.equal(got.params.secret_code, undefined, 'the secret is not passed on');
  assert.deepEqual(got.sentFrom, { server: 'testhub', service: '' });
  assert.ok(!bystander.received.some((m) => ['big', 'wrong', 'nosecret'].includes(String(m.params.tag))));
  assert.equal(hub.faults.refusedSignals - before, 4);
});

void test('a flood of connections past max_connections is refused with a sentence; the hub keeps serving', async () => {
  const sockets: Socket[] = [];
  const refusals: string[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const s = netConnect(port, '127.0.0.1');
      sockets.push(s);
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        data += d;
      });
      s.on('close', () => {
        if (data) refusals.push(data);
      });
      s.on('error', () => undefined);
    }
    // At most 20 connections are kept, so at least 20 of the 40 are refused.
    await waitFor(() => refusals.length >= 20, { what: `20 refusals (got ${refusals.length})`, timeoutMs: 20_000 });
    assert.match(refusals[0]!, /INVALID message=the hub is at max_connections \(20\): connection refused/);
    assert.ok(hub.faults.refusedConnections >= refusals.length);
    bystander.send('bystander/PROBE tag=during-flood');
    await bystander.next((m) => m.params.tag === 'during-flood');
  } finally {
    for (const s of sockets) s.destroy();
  }
  await waitFor(
    async () => {
      try {
        await stillRouting(`after-flood-${Date.now()}`);
        return true;
      } catch {
        return false;
      }
    },
    { what: 'a new connection to be accepted after the flood' },
  );
});

void test('a service that never reads: its sender is held back (nothing dropped), it is closed as a slow consumer, others are unaffected', async () => {
  const sink = await reg('sink');
  sink.socket.pause(); // never reads again
  const sender = await reg('flooder');
  const other = await reg('other');
  const big = 'z'.repeat(3000); // under max_line_length
  const droppedBefore = hub.router.counters.dropped;
  let i = 0;
  const pump = setInterval(() => {
    // Keep the sender's own buffer small: the point is the hub's queue for the sink, not ours.
    for (let k = 0; k < 200 && sender.socket.writableLength < 1 << 20; k++)
      sender.send(`sink/DATA n=${i++};blob=${big}`);
  }, 5);
  try {
    await waitFor(() => sender.socket.writableLength > 0 && i > 100, {
      what: 'the flooder to be held back (its own writes back up)',
      timeoutMs: 20_000,
    });
    // Held back, not dropped: the flooder's later message waits in line; another service is not slowed.
    sender.send('bystander/PROBE tag=from-the-held-sender');
    other.send('bystander/PROBE tag=while-sink-full');
    await bystander.next((m) => m.params.tag === 'while-sink-full');
    await waitFor(() => !hub.services.get('sink')?.up, { what: 'the slow consumer to be closed', timeoutMs: 20_000 });
    await bystander.next((m) => m.params.tag === 'from-the-held-sender');
  } finally {
    clearInterval(pump);
  }
  assert.equal(hub.router.counters.dropped, droppedBefore, 'no message was dropped for want of queue space');
  await stillRouting('after-slow-consumer');
});

void test('a returning service that reads none of its cached messages is closed as a slow consumer; the rest wait again for the next instance', async () => {
  (await reg('comeback')).close();
  await waitFor(() => hub.services.get('comeback')?.up === false, { what: 'comeback to leave' });
  const sender = await reg('comeback_sender');
  const blob = 'c'.repeat(2000);
  for (let i = 0; i < 200; i++) sender.send(`comeback/DATA n=${i};blob=${blob}`);
  await waitFor(() => hub.cache.pending('comeback') === 200, { what: '200 cached messages' });
  // Back, in-process (no kernel buffer to hide in), but it never reads: a queue's worth goes out,
  // the rest waits, and after slow_consumer_timeout it is closed.
  const stuck = hub.connectInProcess('stuck') as MemoryChannel;
  stuck.pause();
  stuck.send('REGISTER service=comeback;version=1');
  await waitFor(() => hub.services.get('comeback')?.up === true, { what: 'the stuck instance to register' });
  await waitFor(() => !hub.services.get('comeback')?.up, { what: 'the stuck instance to be closed' });
  const waiting = hub.cache.pending('comeback');
  assert.ok(waiting > 0 && waiting < 200, `${waiting} messages back in the cache`);
  const next = await reg('comeback');
  await waitFor(() => next.received.filter((m) => m.command === 'DATA').length === waiting, {
    what: `${waiting} messages for the next instance`,
  });
  const ns = next.received.filter((m) => m.command === 'DATA').map((m) => Number(m.params.n));
  assert.deepEqual(
    ns,
    [...Array(waiting).keys()].map((i) => 200 - waiting + i),
    'the ones it was never sent, in order',
  );
  await stillRouting('after-backlog-slow-consumer');
});
