/** The client against a real hub process: register, send, request/reply, builder, status, timeouts, reconnect. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ConnectionError, SwitchboardError, TimeoutError } from '../core/errors.js';
import { freePort, waitFor } from '../core/test/support.js';
import type { Message } from '../core/message.js';
import { connect, type ConnectionState, type ServiceStatus, type SwitchboardClient } from './index.js';
import { SwitchboardClient as Client } from './client.js';
import { resolveOptions } from './options.js';
import { TestHub } from './test/hub.js';

const FAST = { backoffMs: [50, 100, 200], requestTimeoutMs: 5000 };
let hub: TestHub;
const clients: SwitchboardClient[] = [];

async function client(url = hub.url, options = {}): Promise<SwitchboardClient> {
  const c = await connect(url, { ...FAST, ...options });
  clients.push(c);
  return c;
}

before(async () => {
  hub = await TestHub.start();
});
after(async () => {
  for (const c of clients) c.dispose();
  await hub.dispose();
});

void test('register, send, request/reply, handler errors, unknown commands and the builder', async () => {
  const clock = await client();
  const received: Message[] = [];
  clock.on('TICK', (m) => {
    received.push(m);
  });
  clock.on('TIME', (m) => ({ command: 'NOW', params: { zone: m.params.zone ?? 'UTC', epoch: 42 } }));
  clock.on('FAIL', () => {
    throw new SwitchboardError('CONFLICT', 'the clock is busy');
  });
  const reg = await clock.register('clock', { commands: ['TICK', 'TIME', 'FAIL'] });
  assert.equal(reg.service, 'clock');
  assert.equal(clock.state.status, 'ready');

  const caller = await client();
  await assert.rejects(caller.request({ command: 'TIME', to: 'clock' }), /before register\(\)/);
  await caller.register('caller');
  assert.equal(caller.send({ command: 'TICK', to: 'clock', params: { n: 1 } }), true);
  await waitFor(() => received.length === 1, { what: 'TICK at the clock' });
  assert.equal(received[0]!.params.n, '1');
  assert.equal(received[0]!.sentFrom.service.split('#')[0], 'caller', 'the hub stamps the sender');

  const reply = await caller.request({ command: 'TIME', to: 'clock', params: { zone: 'CET' } }, { timeoutMs: 3000 });
  assert.equal(reply.command, 'NOW');
  assert.equal(reply.params.zone, 'CET');

  const built = await caller.message('TIME').to('clock').param('zone', 'PST').request();
  assert.equal(built.params.zone, 'PST');

  await assert.rejects(
    caller.request({ command: 'FAIL', to: 'clock' }),
    (err) => err instanceof SwitchboardError && err.code === 'CONFLICT' && /busy/.test(err.message),
  );
  await assert.rejects(
    caller.request({ command: 'NOPE', to: 'clock' }),
    (err) => err instanceof SwitchboardError && err.code === 'NOT_FOUND',
  );

  const help = await caller.request({ command: 'HELP', to: 'clock' }, { match: (m) => m.command === 'COMMANDS' });
  for (const c of ['TICK', 'TIME', 'FAIL', 'ALIVE', 'HELP'])
    assert.ok(String(help.params.list).split(',').includes(c), `COMMANDS lists ${c}`);
  const alive = await caller.request(
    { command: 'ALIVE', to: 'clock', params: { serial: 7 } },
    { match: (m) => m.command === 'ABSOLUTELY' },
  );
  assert.equal(alive.params.serial, '7');

  const services = await caller.listServices();
  const clockEntry = services.find((e) => e.name === 'clock');
  assert.equal(clockEntry?.status, 'up');
  assert.ok(clockEntry?.instances[0]?.commands.includes('TIME'), 'the hub knows what clock handles');

  assert.throws(() => caller.send({ command: 'lower', to: 'clock' }), /command "lower" is not valid/);
  assert.throws(() => caller.send({ command: 'TICK', to: 'clock', params: { 'bad name': 1 } }), /parameter/);
  assert.throws(() => caller.message('TIME').to('no such'), /invalid service name/);
});

void test('a request nobody answers times out; dispose rejects what is pending', async () => {
  const silent = await client();
  silent.on('SLOW', () => undefined);
  await silent.register('silent');
  const caller = await client();
  await caller.register('caller2');
  await assert.rejects(
    caller.request({ command: 'SLOW', to: 'silent' }, { timeoutMs: 100 }),
    (err) => err instanceof TimeoutError && /silent\/SLOW/.test(err.message),
  );
  const pending = caller.request({ command: 'SLOW', to: 'silent' }, { timeoutMs: 10_000 });
  caller.dispose();
  await assert.rejects(pending, (err) => err instanceof ConnectionError && err.code === 'CONNECTION_CLOSED');
  assert.equal(caller.state.status, 'closed');
  caller.dispose();
});

void test('status callbacks report services coming and going', async () => {
  const watcher = await client();
  const seen: ServiceStatus[] = [];
  watcher.onStatus((s) => seen.push(s));
  await watcher.register('watcher');
  const svc = await client();
  await svc.register('comes_and_goes');
  await waitFor(() => seen.some((s) => s.service === 'comes_and_goes' && s.status === 'up'), { what: 'STATUS up' });
  svc.dispose();
  await waitFor(() => seen.some((s) => s.service === 'comes_and_goes' && s.status === 'down'), { what: 'STATUS down' });
});

void test('reconnects after the hub restarts, registers again and delivers what was queued', async () => {
  const svc = await client();
  const states: ConnectionState['status'][] = [];
  svc.onState((s) => states.push(s.status));
  const pings: Message[] = [];
  svc.on('PING', (m) => {
    pings.push(m);
    return { command: 'PONG' };
  });
  await svc.register('survivor');
  const oneShot = await client(hub.url, { reconnect: false });
  await oneShot.register('one_shot');
  const lost = oneShot
    .request({ command: 'PING', to: 'nobody_here' }, { timeoutMs: 60_000 })
    .catch((err: unknown) => err);

  await hub.stop();
  assert.ok((await lost) instanceof ConnectionError, 'without reconnect, what is pending fails when the hub goes');
  await waitFor(() => oneShot.state.status === 'closed', { what: 'the one-shot client to close' });
  await waitFor(() => svc.state.status === 'disconnected', { what: 'disconnected state' });
  // Sent while the hub is down: queued, delivered after READY (to itself, so order of reconnects does not matter).
  for (let i = 0; i < 3; i++) assert.equal(svc.send({ command: 'PING', to: 'survivor', params: { i } }), true);
  assert.equal(svc.stats.queued, 3);
  await hub.restart();
  await waitFor(() => svc.state.status === 'ready', { what: 're-registration', timeoutMs: 15_000 });
  await waitFor(() => pings.length === 3, { what: 'queued PINGs delivered' });
  assert.deepEqual(
    pings.map((p) => p.params.i),
    ['0', '1', '2'],
  );
  assert.ok(states.includes('disconnected') && states.includes('connecting'));
  assert.ok(svc.stats.reconnects >= 1);

  const other = await client();
  await other.register('after_restart');
  const pong = await other.request({ command: 'PING', to: 'survivor' }, { timeoutMs: 3000 });
  assert.equal(pong.command, 'PONG');
});

void test('the disconnected queue is bounded and counts drops; a dead address fails fast with an actionable error', async () => {
  const port = await freePort();
  await assert.rejects(
    connect(`cd://127.0.0.1:${port}`, { reconnect: false }),
    (err) => err instanceof ConnectionError && /is the hub running/.test(err.message),
  );
  const c = new Client(
    `cd://127.0.0.1:${port}`,
    resolveOptions({ waitOnFirstConnect: true, backoffMs: [60_000], queue: { capacity: 2, policy: 'drop-oldest' } }),
  );
  const started = c.start().catch((err: unknown) => err);
  await waitFor(() => c.state.status === 'disconnected', { what: 'first dial failure' });
  for (let i = 0; i < 3; i++) c.send({ command: 'X', to: 'nobody' });
  assert.equal(c.stats.queued, 2);
  assert.equal(c.stats.dropped, 1);
  c.dispose();
  assert.ok((await started) instanceof ConnectionError);
  await assert.rejects(connect('http://127.0.0.1:1'), (err) => err instanceof SwitchboardError);
});

void test('commands added while REGISTER is on its way reach the hub once READY comes (a hub that sends no HELP)', async () => {
  // A hub of a few lines: READY a while after REGISTER, no HELP in between (the client's answer to
  // HELP would carry the list): what it hears after READY is what the client announced itself.
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        lines.push(line);
        if (line.startsWith('REGISTER'))
          setTimeout(() => socket.write('READY server_name=fake;service=late_listener\n'), 100);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const late = await client(`cd://127.0.0.1:${port}`, { token: false });
    const registering = late.register('late_listener');
    await waitFor(() => lines.some((l) => l.startsWith('REGISTER')), { what: 'REGISTER at the fake hub' });
    assert.doesNotMatch(
      lines.find((l) => l.startsWith('REGISTER'))!,
      /LATE_NEWS/,
    );
    late.on('LATE_NEWS', () => undefined);
    await registering;
    await waitFor(() => lines.some((l) => l.startsWith('COMMANDS') && l.includes('LATE_NEWS')), {
      what: 'COMMANDS with LATE_NEWS after READY',
    });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

void test('JSON wire format keeps typed values; instances, broadcasts and SERVICE_UNAVAILABLE', async () => {
  const typed = await client(hub.url, { format: 'json' });
  typed.on('SUM', (m) => {
    // A text sender's values arrive as JSON text; a JSON sender's as an array.
    const raw = m.params.values;
    const values = (typeof raw === 'string' ? JSON.parse(raw) : raw) as number[];
    return { command: 'TOTAL', params: { total: values.reduce((a, b) => a + b, 0), exact: true } };
  });
  await typed.register('summer', { commands: ['SUM'] });
  const textCaller = await client();
  const jsonCaller = await client(hub.url, { format: 'json' });
  await jsonCaller.register('json_caller');
  const total = await jsonCaller.request({ command: 'SUM', to: 'summer', params: { values: [1, 2, 3.5] } });
  assert.equal(total.params.total, 6.5);
  assert.equal(total.params.exact, true);
  await textCaller.register('text_caller');
  const viaText = await textCaller.request({ command: 'SUM', to: 'summer', params: { values: [2, 2] } });
  assert.equal(viaText.params.total, '4', 'a text connection gets text values');

  const first = await client();
  const second = await client();
  const r1 = await first.register('worker', { instance: true });
  const r2 = await second.register('worker', { instance: true });
  assert.ok(r1.instance && r2.instance && r1.instance !== r2.instance, 'each instance gets its own id');
  const dup = await client();
  await assert.rejects(
    dup.register('worker'),
    (err) => err instanceof SwitchboardError && err.code === 'REFUSED' && /instance=true/.test(err.message),
  );

  const heard: string[] = [];
  first.on('RELOAD', () => {
    heard.push('first');
  });
  second.on('RELOAD', () => {
    heard.push('second');
  });
  await waitFor(
    async () => {
      const list = await textCaller.request({ command: 'LIST_SERVICES' }, { match: (m) => m.command === 'SERVICES' });
      return String(list.params.services).split('RELOAD').length > 2;
    },
    { what: 'COMMANDS updates reach the hub' },
  );
  textCaller.broadcast('RELOAD', {}, '.');
  await waitFor(() => heard.length === 2, { what: 'the broadcast at both instances' });

  await assert.rejects(
    textCaller.message('PING').to('never_registered').cache({ no: true, reply: true }).request({ timeoutMs: 3000 }),
    (err) => err instanceof SwitchboardError && err.code === 'UNAVAILABLE' && /never_registered/.test(err.message),
  );
});

void test('STOP reaches an onStop listener, or disposes a client that has none', async () => {
  const polite = await client();
  const stops: string[] = [];
  polite.onStop((m) => stops.push(m.sentFrom.service));
  await polite.register('polite');
  const plain = await client();
  await plain.register('plain');
  const boss = await client();
  await boss.register('boss');
  boss.send({ command: 'STOP', to: 'polite' });
  boss.send({ command: 'STOP', to: 'plain' });
  await waitFor(() => stops.length === 1 && plain.state.status === 'closed', { what: 'both STOPs handled' });
  assert.deepEqual(stops, ['boss']);
  assert.equal(polite.state.status, 'ready');
});
