// HubPlugin: a plugin that is a service on a real Switchboard hub (a child process).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestHub } from '../client/test/hub.js';
import { waitFor } from '../core/test/support.js';
import { Engine, HubPlugin, Plugin, PluginManager } from './index.js';
import { serveHubPlugin, withContext, type HubPluginService } from './client/index.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'silent';
let hub: TestHub;
const services: HubPluginService[] = [];
const engines: Engine[] = [];

before(async () => {
  hub = await TestHub.start();
});
after(async () => {
  for (const e of engines) if (e.isRegistered('calc')) await e.remove('calc');
  for (const s of services) s.close();
  await hub.stop();
});

function setup() {
  const engine = new Engine();
  engines.push(engine);
  const manager = new PluginManager();
  const host = new Plugin({ name: 'host' });
  const echo = new (class extends Plugin {
    shout(s: string) {
      return `${s.toUpperCase()}!`;
    }
  })({ name: 'echo', methods: ['shout'] });
  const calc = new HubPlugin({ name: 'calc', url: hub.url }, { connectTimeoutMs: 5000, callTimeoutMs: 3000 });
  engine.register([manager, host, echo, calc]);
  return { engine, manager, host, calc };
}

void test('HubPlugin: a hub service as a plugin — handshake, calls both ways, events, cancellation, service down', async () => {
  const cancelled: string[] = [];
  const svc = await serveHubPlugin(hub.url, 'calc', {
    add: (a: number, b: number) => a + b,
    relay: (text: string) => svc.client.call('echo', 'shout', text),
    hang: withContext(
      (ctx) =>
        new Promise((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            cancelled.push('hang');
            resolve(null);
          }),
        ),
    ),
    tick: (n: number) => {
      svc.client.emit('ticked', n);
      return n;
    },
  });
  services.push(svc);
  const { manager, host } = setup();
  await manager.activatePlugin(['host', 'echo', 'calc']);
  assert.deepEqual((await manager.getProfile('calc'))?.methods, ['add', 'relay', 'hang', 'tick']);
  assert.equal(await host.call('calc', 'add', 40, 2), 42);
  assert.equal(await host.call('calc', 'relay', 'over the hub'), 'OVER THE HUB!');
  const ticks: unknown[] = [];
  host.on('calc', 'ticked', (n) => ticks.push(n));
  await host.call('calc', 'tick', 5);
  await waitFor(() => ticks.length === 1, { what: 'the event over the hub' });
  await assert.rejects(host.callWith({ timeoutMs: 200 }, 'calc', 'hang'), { code: 'TIMEOUT' });
  await waitFor(() => cancelled.length === 1, { what: 'the cancel to reach the service' });
  // The service leaves the hub: the plugin becomes inactive.
  const pending = host.callWith({ timeoutMs: 0 }, 'calc', 'hang');
  svc.close();
  await assert.rejects(pending, /hub service "calc"\) went down/);
  assert.equal(await manager.isActive('calc'), false);
});

void test('HubPlugin: no such service on the hub -> the activation times out with a clear error', async () => {
  const engine = new Engine();
  const manager = new PluginManager();
  const ghost = new HubPlugin({ name: 'ghost', url: hub.url }, { connectTimeoutMs: 500 });
  engine.register([manager, ghost]);
  await assert.rejects(manager.activatePlugin('ghost'), /did not complete the handshake within 500 ms/);
});
