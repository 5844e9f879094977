/** One hub, services on every transport (TCP, Unix, TLS, WebSocket, UDP, in-process), talking to each other. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Channel } from '../core/channel.js';
import { decodeLine } from '../core/codec/index.js';
import type { Message } from '../core/message.js';
import { tempDir, waitFor } from '../core/test/support.js';
import { connect } from '../core/transports/index.js';
import { makeTestPki, type TestPki } from '../core/test/certs.js';
import type { Hub } from './hub.js';
import { LineClient, sendDatagram, startTestHub, hubPort } from './test/support.js';

let hub: Hub;
let cert: TestPki;
let home: { path: string; cleanup: () => Promise<void> };
const channels: Channel[] = [];

function inbox(ch: Channel): (command: string, timeoutMs?: number) => Promise<Message> {
  const got: Message[] = [];
  const waiters: { command: string; resolve: (m: Message) => void }[] = [];
  ch.on('frame', (f) => {
    const m = decodeLine(f);
    const i = waiters.findIndex((w) => w.command === m.command);
    if (i !== -1) waiters.splice(i, 1)[0]!.resolve(m);
    else got.push(m);
  });
  return (command, timeoutMs = 5000) => {
    const i = got.findIndex((m) => m.command === command);
    if (i !== -1) return Promise.resolve(got.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${command} on ${ch.transport} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiters.push({
        command,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  };
}

async function service(ch: Channel, name: string): Promise<(command: string) => Promise<Message>> {
  channels.push(ch);
  const next = inbox(ch);
  ch.send(`REGISTER service=${name};version=1`);
  await next('READY');
  return next;
}

function url(kind: string): string {
  return hub.addresses.find((a) => a.kind === kind)!.url.replace('hubs:***@', '');
}

before(async () => {
  cert = makeTestPki();
  home = await tempDir();
  hub = await startTestHub({
    unixListen: `cd://${join(home.path, 'hub.sock')}`,
    secureListen: 'cds://hubs:s3cret@127.0.0.1:0',
    certificate: cert.certificate,
    privateKey: cert.privateKey,
    wsListen: 'ws://127.0.0.1:0/switchboard',
  });
});

after(async () => {
  for (const ch of channels) ch.close();
  await hub.stop('tests done');
  cert.cleanup();
  await home.cleanup();
});

void test('services on TCP, Unix, TLS, WebSocket and in-process reach each other; UDP signals reach them', async () => {
  const tcp = await service(await connect(url('local')), 'on_tcp');
  const unix = await service(await connect(url('unix')), 'on_unix');
  const tls = await service(await connect(url('secure'), { ca: cert.ca }), 'on_tls');
  const ws = await service(await connect(url('ws')), 'on_ws');
  const mem = await service(hub.connectInProcess('builtin'), 'on_memory');
  const names = ['on_tcp', 'on_unix', 'on_tls', 'on_ws', 'on_memory'];
  const inboxes = [tcp, unix, tls, ws, mem];
  const senders = channels.slice(-5);
  // Each sends HOP to the next one round the ring.
  senders.forEach((ch, i) => ch.send(`${names[(i + 1) % names.length]}/HOP from=${names[i]}`));
  for (let i = 0; i < inboxes.length; i++) {
    const m = await inboxes[i]!('HOP');
    assert.equal(m.params.from, names[(i + names.length - 1) % names.length]);
    assert.equal(m.sentFrom.service, m.params.from);
  }
  await sendDatagram(hubPort(hub, 'signal'), 'on_ws/SIGNAL via=udp', 50);
  assert.equal((await ws('SIGNAL')).params.via, 'udp');
});

void test('a password in a listener URL is never shown', () => {
  assert.match(hub.addresses.find((a) => a.kind === 'secure')!.url, /^cds:\/\/hubs:\*\*\*@127\.0\.0\.1:\d+$/);
  assert.ok(!JSON.stringify(hub.addresses).includes('s3cret'));
});

void test('SNIFF and STOP are refused on unauthenticated TLS and WebSocket connections', async () => {
  const tls = await connect(url('secure'), { ca: cert.ca });
  channels.push(tls);
  const next = inbox(tls);
  tls.send('SNIFF');
  assert.match(String((await next('INVALID')).params.message), /may not use SNIFF: roles\.local\.commands/);
  const ws = await connect(url('ws'));
  channels.push(ws);
  const wsNext = inbox(ws);
  ws.send('STOP');
  assert.match(String((await wsNext('INVALID')).params.message), /may not use STOP: roles\.local\.commands/);
  assert.equal(hub.state, 'running');
});

void test('a WebSocket sender to a reader that stops reading is held back, not dropped: all of it arrives in order', async () => {
  const small = await startTestHub({
    wsListen: 'ws://127.0.0.1:0/switchboard',
    maxQueuedBytes: 64 * 1024,
    slowConsumerTimeout: 60_000,
  });
  const sink = await LineClient.register(hubPort(small), 'ws_sink');
  const ws = await connect(small.addresses.find((a) => a.kind === 'ws')!.url);
  try {
    const next = inbox(ws);
    ws.send('REGISTER service=ws_flooder;version=1');
    await next('READY');
    sink.socket.pause(); // reads nothing until the flooder is held
    const total = 4000; // 12 MB: more than the hub's queue and both kernels' socket buffers
    const blob = 'w'.repeat(3000);
    const droppedBefore = small.router.counters.dropped;
    let sent = 0;
    // Our own queue kept under 1 MB: what piles up is the hub not reading us.
    const pump = setInterval(() => {
      while (sent < total && ws.stats.bufferedBytes < 1 << 20) ws.send(`ws_sink/DATA n=${sent++};blob=${blob}`);
    }, 5);
    try {
      await waitFor(() => ws.stats.bufferedBytes >= 1 << 20, {
        what: 'the hub to stop reading the WebSocket sender',
        timeoutMs: 20_000,
      });
      sink.socket.resume();
      await waitFor(() => sink.received.filter((m) => m.command === 'DATA').length === total, {
        what: `all ${total} messages at the sink`,
        timeoutMs: 30_000,
      });
    } finally {
      clearInterval(pump);
    }
    const ns = sink.received.filter((m) => m.command === 'DATA').map((m) => Number(m.params.n));
    assert.deepEqual(ns, [...Array(total).keys()], 'in the order sent');
    assert.equal(small.router.counters.dropped, droppedBefore, 'nothing dropped for want of queue space');
    assert.equal(ws.stats.dropped, 0);
  } finally {
    ws.close();
    sink.close();
    await small.stop('test done');
  }
});
