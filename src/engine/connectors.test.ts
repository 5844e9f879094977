import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../core/test/support.js';
import {
  ChildProcessPlugin,
  Engine,
  Plugin,
  PluginManager,
  WorkerThreadPlugin,
  type CallContext,
  type EngineErrorContext,
  type PluginConnector,
} from './index.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'silent';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const tsx = ['--import', 'tsx'];
const engines: Engine[] = [];

after(async () => {
  for (const engine of engines) {
    for (const name of ['worker', 'child', 'stdio', 'lazy']) if (engine.isRegistered(name)) await engine.remove(name);
  }
});

function setup(...plugins: Plugin[]) {
  const errors: Array<[unknown, EngineErrorContext]> = [];
  const engine = new Engine({ onError: (e, c) => errors.push([e, c]) });
  engines.push(engine);
  const manager = new PluginManager();
  const host = new Plugin({ name: 'host' });
  engine.register([manager, host, ...plugins]);
  return { engine, manager, host, errors };
}

const worker = (opts = {}) => new WorkerThreadPlugin({ name: 'worker', url: fixture('worker-plugin.ts') }, opts);
const child = (opts = {}) =>
  new ChildProcessPlugin({ name: 'child', url: fixture('ipc-plugin.ts') }, { execArgv: tsx, ...opts });

void test('worker thread plugin: handshake gives its methods; calls, errors, events both ways', async () => {
  const w = worker();
  const { engine, manager, host } = setup(w);
  await manager.activatePlugin(['host', 'worker']);
  const profile = await manager.getProfile('worker');
  assert.ok(profile?.methods?.includes('add') && profile.methods.includes('waitForCancel'));
  assert.equal(await host.call('worker', 'add', 2, 40), 42);
  assert.deepEqual(await host.call('worker', 'echo', { a: [1, 'x', null] }), { a: [1, 'x', null] });
  await assert.rejects(
    host.call('worker', 'fail', 'bad input'),
    (err: Error & { code?: string }) => err.code === 'PLUGIN_ERROR' && err.message === 'bad input',
  );
  const ticks: unknown[] = [];
  host.on('worker', 'tick', (n) => ticks.push(n));
  await host.call('worker', 'emitTick', 7);
  await waitFor(() => ticks.length === 1, { what: 'tick event' });
  assert.deepEqual(ticks, [7]);
  // The worker calls back into the host through the engine.
  const echo = new (class extends Plugin {
    shout(s: string) {
      return s.toUpperCase();
    }
  })({ name: 'echo', methods: ['shout'] });
  engine.register(echo);
  assert.equal(await host.call('worker', 'callOther', 'echo', 'shout', 'hi'), 'HI');
});

void test('worker thread plugin: a call that never answers times out, the plugin is told to cancel, and keeps serving', async () => {
  const w = worker({ callTimeoutMs: 100, concurrency: 4 });
  const { manager, host } = setup(w);
  await manager.activatePlugin(['host', 'worker']);
  await assert.rejects(host.call('worker', 'never'), { code: 'TIMEOUT' });
  const cancelled: string[] = [];
  host.on('worker', 'cancelled', (why) => cancelled.push(String(why)));
  const controller = new AbortController();
  const p = host.callWith({ signal: controller.signal, timeoutMs: 0 }, 'worker', 'waitForCancel');
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(p, { code: 'CANCELLED' });
  await waitFor(() => cancelled.length === 1, { what: 'the plugin to see the cancel' });
  assert.equal(await host.call('worker', 'add', 1, 1), 2);
});

void test("plugin-side deadline: the plugin's call times out and the engine-side target sees the cancellation", async () => {
  const w = worker();
  const aborted: string[] = [];
  const waiter = new (class extends Plugin {
    override callPluginMethod(_m: string, _a: unknown[], ctx: CallContext) {
      return new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          aborted.push((ctx.signal.reason as Error).message);
          resolve('late');
        }),
      );
    }
  })({ name: 'waiter', methods: ['wait'] });
  const { manager, host } = setup(w, waiter);
  await manager.activatePlugin(['host', 'worker', 'waiter']);
  const answer = await host.call<string>('worker', 'callWithTimeout', 80, 'waiter', 'wait');
  // The plugin's own deadline and the engine's copy of it (requestInfo.timeoutMs) race; either wins.
  assert.match(answer, /^TIMEOUT: \[TIMEOUT\] call "waiter.wait" from (plugin )?"worker" got no answer within 80 ms/);
  await waitFor(() => aborted.length === 1, { what: 'the target to be cancelled' });
  assert.match(aborted[0]!, /plugin "worker" cancelled its call|\[TIMEOUT\] call "waiter.wait" from "worker"/);
});

void test('worker thread plugin crash mid-call: clear rejection, inactive, can be activated again', async () => {
  const w = worker();
  const { manager, host } = setup(w);
  await manager.activatePlugin(['host', 'worker']);
  const deactivated: string[] = [];
  host.on('manager', 'pluginDeactivated', (p) => deactivated.push((p as { name: string }).name));
  await assert.rejects(
    host.call('worker', 'crash'),
    (err: Error & { code?: string }) =>
      err.code === 'CONNECTION_CLOSED' && /plugin "worker" \(worker thread .*\) exited with code 3/.test(err.message),
  );
  assert.equal(await manager.isActive('worker'), false);
  assert.deepEqual(deactivated, ['worker']);
  await manager.activatePlugin('worker');
  assert.equal(await host.call('worker', 'add', 3, 4), 7);
});

void test('child process plugin (fork IPC): calls, events from the host, crash mid-call, re-activation by call', async () => {
  const c = child();
  const { manager, host } = setup(c);
  await manager.activatePlugin(['host', 'child']);
  const pid1 = await host.call<number>('child', 'pid');
  assert.notEqual(pid1, process.pid);
  const heard: unknown[] = [];
  host.on('child', 'heard', (t) => heard.push(t));
  host.emit('greeting', 'hello child');
  await waitFor(() => heard.length === 1, { what: 'the child to echo the event' });
  assert.deepEqual(heard, ['hello child']);
  await assert.rejects(host.call('child', 'crash'), /plugin "child" \(process \d+\) exited with code 7/);
  assert.equal(await manager.isActive('child'), false);
  // Auto-activation on call starts a new process.
  const pid2 = await host.call<number>('child', 'pid');
  assert.notEqual(pid2, pid1);
});

void test('child process plugin: malformed, oversized and non-object messages are dropped; the engine keeps serving', async () => {
  const c = child();
  const w = worker();
  const { manager, host } = setup(c, w);
  await manager.activatePlugin(['host', 'child', 'worker']);
  const big: unknown[] = [];
  host.on('child', 'big', (v) => big.push(v));
  for (const kind of ['malformed', 'oversized', 'not-object'])
    assert.equal(await host.call('child', 'garbage', kind), 'sent');
  await waitFor(() => (c as PluginConnector).stats.rejected === 3, { what: 'three rejected messages' });
  assert.deepEqual(big, []);
  assert.equal(await host.call('child', 'echo', 'still here'), 'still here');
  assert.equal(await host.call('worker', 'add', 1, 2), 3);
});

void test('stdio JSON-lines plugin (any language): handshake, calls; junk lines dropped', async () => {
  const s = new ChildProcessPlugin(
    { name: 'stdio', url: process.execPath },
    { mode: 'stdio', args: [fixture('stdio-plugin.mjs')], maxMessageBytes: 64 * 1024 },
  );
  const { manager, host } = setup(s);
  await manager.activatePlugin(['host', 'stdio']);
  assert.equal(await host.call('stdio', 'upper', 'any language'), 'ANY LANGUAGE');
  assert.equal(await host.call('stdio', 'junk'), 'ok');
  await waitFor(() => s.stats.rejected === 2, { what: 'two rejected lines' });
  assert.equal(await host.call('stdio', 'upper', 'x'), 'X');
});

void test('connection timeout: a program that never handshakes fails activation and is stopped', async () => {
  const lazy = new ChildProcessPlugin(
    { name: 'lazy', url: process.execPath },
    { mode: 'stdio', args: ['-e', 'setInterval(() => {}, 1000)'], connectTimeoutMs: 300 },
  );
  const { manager } = setup(lazy);
  await assert.rejects(
    manager.activatePlugin('lazy'),
    (err: Error & { code?: string }) =>
      err.code === 'TIMEOUT' && /did not complete the handshake within 300 ms/.test(err.message),
  );
  assert.equal(lazy.pid, undefined, 'the process was stopped');
  assert.equal(await manager.isActive('lazy'), false);
});

void test('a program that cannot be started fails activation with a clear error', async () => {
  const missing = new ChildProcessPlugin({ name: 'missing', url: '/nonexistent/plugin-binary' }, { mode: 'stdio' });
  const { manager } = setup(missing);
  await assert.rejects(
    manager.activatePlugin('missing'),
    /cannot start plugin "missing" \(\/nonexistent\/plugin-binary\): spawn .*ENOENT/,
  );
});

void test('batches: with many calls in flight, worker and child plugins get and send them in batches; every message in a batch is still checked', async () => {
  const w = worker({ concurrency: 64 });
  const c = child({ concurrency: 64 });
  const { manager, host } = setup(w, c);
  await manager.activatePlugin(['host', 'worker', 'child']);
  for (const p of [w, c]) {
    const sums = await Promise.all(Array.from({ length: 200 }, (_, i) => host.call<number>(p.name, 'add', i, 1)));
    assert.deepEqual(
      sums,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.ok(p.stats.batchesSent > 0 && p.stats.batchesReceived > 0, `${p.name}: ${JSON.stringify(p.stats)}`);
    assert.ok(p.stats.sent >= 200 && p.stats.received >= 200, 'messages in batches count one by one');
  }
  const batched: unknown[] = [];
  host.on('child', 'batched', (v) => batched.push(v));
  for (const kind of ['batch-not-list', 'batch-too-long', 'batch-mixed'])
    assert.equal(await host.call('child', 'garbage', kind), 'sent');
  // The list that is not one and the over-long batch are dropped whole; in the mixed one only the bad message.
  await waitFor(() => c.stats.rejected === 3 && batched.length === 1, {
    what: 'three rejections and the one good batched event',
  });
  assert.deepEqual(batched, ['kept']);
  assert.equal(await host.call('child', 'echo', 'still here'), 'still here');
});

void test('batches: a Remix client on a batch-capable transport (fork IPC) ignores the offer and is never sent a batch', async () => {
  const remix = new ChildProcessPlugin(
    { name: 'remix', url: fixture('remix-ipc-plugin.cjs'), methods: ['later'] },
    { concurrency: 32 },
  );
  const { engine, manager, host } = setup(remix);
  try {
    await manager.activatePlugin(['host', 'remix']);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => host.call<number>('remix', 'later', i)));
    assert.deepEqual(
      answers,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.equal(remix.stats.batchesSent, 0);
    assert.equal(remix.stats.batchesReceived, 0);
  } finally {
    await engine.remove('remix');
  }
});

void test('a value that cannot cross the transport fails only its own call, in a batch or not', async () => {
  const w = worker({ concurrency: 64, callTimeoutMs: 5000 });
  const { manager, host } = setup(w);
  await manager.activatePlugin(['host', 'worker']);
  // An argument that cannot be cloned, sent in the same microtask as good calls (one batch).
  const calls = [
    host.call('worker', 'add', 1, 2),
    host.call('worker', 'echo', () => 'no'),
    host.call('worker', 'add', 3, 4),
  ];
  const [a, bad, b] = await Promise.allSettled(calls);
  assert.deepEqual(
    [a, b].map((r) => (r?.status === 'fulfilled' ? r.value : r?.reason)),
    [3, 7],
  );
  assert.ok(
    bad?.status === 'rejected' && /could not be cloned/.test(String((bad.reason as Error).message)),
    String(bad?.status === 'rejected' ? bad.reason : 'fulfilled'),
  );
  // A result that cannot be cloned: the engine gets an error answer at once, not a timeout.
  await assert.rejects(
    host.call('worker', 'unclonable'),
    (err: Error & { code?: string }) =>
      err.code === 'INTERNAL' && /the result of "unclonable" could not be sent by plugin "worker"/.test(err.message),
  );
  assert.equal(await host.call('worker', 'add', 5, 5), 10);
});
