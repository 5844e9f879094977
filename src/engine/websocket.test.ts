// Wire compatibility with the real Remix WebSocket client (@remixproject/plugin-ws on ws@8), and
// our own client over the same transport.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, type WebSocket } from 'ws';
import { PluginClient as RemixPluginClient } from '@remixproject/plugin';
import { createClient as createRemixWsClient } from '@remixproject/plugin-ws';
import { waitFor } from '../core/test/support.js';
import { Engine, Plugin, PluginManager, WebsocketPlugin } from './index.js';
import { serveWebsocketPlugin, withContext, type PluginClient } from './client/index.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'silent';
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

class RemixPlugin extends RemixPluginClient {
  constructor() {
    super({ customApi: {} } as never);
    (this as unknown as { methods: string[] }).methods = ['hello', 'relay', 'ping'];
  }
  hello(name: string) {
    return `hello ${name}`;
  }
  relay(text: string) {
    return (this as unknown as { call(p: string, m: string, ...a: unknown[]): Promise<unknown> }).call(
      'echo',
      'shout',
      text,
    );
  }
  ping(n: number) {
    (this as unknown as { emit(k: string, ...p: unknown[]): void }).emit('pong', n);
    return n;
  }
}

async function remixServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const sockets: WebSocket[] = [];
  const heard: unknown[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    const client = createRemixWsClient(ws as never, new RemixPlugin() as never) as unknown as RemixPlugin & {
      onload(cb: () => void): void;
      on(p: string, e: string, cb: (...a: unknown[]) => void): void;
    };
    void client.onload(() => client.on('host', 'greeting', (t) => heard.push(t)));
  });
  const port = (wss.address() as { port: number }).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of wss.clients) s.terminate();
        wss.close(() => r());
      }),
  );
  return { port, sockets, heard };
}

function setup(plugin: Plugin) {
  const engine = new Engine();
  const manager = new PluginManager();
  const host = new Plugin({ name: 'host' });
  const echo = new (class extends Plugin {
    shout(s: string) {
      return `${s.toUpperCase()}!`;
    }
  })({ name: 'echo', methods: ['shout'] });
  engine.register([manager, host, echo, plugin]);
  cleanups.push(() => engine.remove(plugin.name));
  return { engine, manager, host };
}

void test('the real @remixproject/plugin-ws client, hosted through WebsocketPlugin: handshake, calls both ways, events both ways', async () => {
  const { port, heard } = await remixServer();
  const remote = new WebsocketPlugin({ name: 'remix', url: `ws://127.0.0.1:${port}` });
  const { engine, manager, host } = setup(remote);
  await manager.activatePlugin(['host', 'echo', 'remix']);
  assert.deepEqual((await manager.getProfile('remix'))?.methods, ['hello', 'relay', 'ping']);
  assert.equal(await host.call('remix', 'hello', 'switchboard'), 'hello switchboard');
  assert.equal(await host.call('remix', 'relay', 'via engine'), 'VIA ENGINE!');
  const pongs: unknown[] = [];
  host.on('remix', 'pong', (n) => pongs.push(n));
  assert.equal(await host.call('remix', 'ping', 9), 9);
  await waitFor(() => pongs.length === 1, { what: 'pong' });
  // The Remix client subscribes after its handshake; wait until the engine has its listener.
  await waitFor(() => engine.listenersOf('host', 'greeting').includes('remix'), {
    what: 'the Remix client to subscribe',
  });
  host.emit('greeting', 'hi remix');
  await waitFor(() => heard.length === 1, { what: 'the Remix client to hear the greeting' });
  assert.deepEqual(heard, ['hi remix']);
});

void test('WebsocketPlugin: an abnormal close rejects pending calls, reconnects and re-handshakes', async () => {
  const { port, sockets } = await remixServer();
  const remote = new WebsocketPlugin({ name: 'remix', url: `ws://127.0.0.1:${port}` }, { reconnectDelayMs: 50 });
  const { manager, host } = setup(remote);
  await manager.activatePlugin(['host', 'remix']);
  assert.equal(await host.call('remix', 'hello', 'a'), 'hello a');
  sockets[0]!.terminate();
  await waitFor(() => sockets.length === 2 && remote.connected, { what: 'the reconnection' });
  assert.equal(await manager.isActive('remix'), true);
  assert.equal(await host.call('remix', 'hello', 'b'), 'hello b');
});

void test('our client over WebSocket: subscriptions and calls made before the handshake are kept; cancellation reaches the plugin', async () => {
  const cancelled: string[] = [];
  let client: PluginClient | undefined;
  const heard: unknown[] = [];
  const early: Array<Promise<unknown>> = [];
  const server = await serveWebsocketPlugin(
    { port: 0 },
    {
      add: (a: number, b: number) => a + b,
      hang: withContext(
        (ctx) =>
          new Promise((resolve) =>
            ctx.signal.addEventListener('abort', () => {
              cancelled.push('hang');
              resolve(null);
            }),
          ),
      ),
    },
    {
      onClient: (c) => {
        client = c;
        c.on('host', 'greeting', (t) => heard.push(t)); // before the handshake
        early.push(c.call('echo', 'shout', 'early')); // before the handshake
      },
    },
  );
  cleanups.push(() => server.close());
  const remote = new WebsocketPlugin({ name: 'ours', url: `ws://127.0.0.1:${server.port}` });
  const { engine, manager, host } = setup(remote);
  await manager.activatePlugin(['host', 'echo', 'ours']);
  assert.deepEqual(await Promise.all(early), ['EARLY!']);
  host.emit('greeting', 'kept');
  await waitFor(() => heard.length === 1, { what: 'the early subscription to deliver' });
  assert.equal(await host.call('ours', 'add', 20, 22), 42);
  const p = host.callWith({ timeoutMs: 100 }, 'ours', 'hang');
  await assert.rejects(p, { code: 'TIMEOUT' });
  await waitFor(() => cancelled.length === 1, { what: 'the plugin to see the cancellation' });
  // Client-side timeout on a call into the engine.
  const slow = new (class extends Plugin {
    wait() {
      return new Promise(() => undefined);
    }
  })({ name: 'slow', methods: ['wait'] }, { callTimeoutMs: 0 });
  engine.register(slow);
  await assert.rejects(
    client!.callWith({ timeoutMs: 80 }, 'slow', 'wait'),
    (err: Error & { code?: string }) => err.code === 'TIMEOUT' && /"slow.wait"/.test(err.message),
  );
  await assert.rejects(client!.call('slow', 'missing'), /not in its profile's methods/);
});
