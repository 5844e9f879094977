/**
 * The systems measured by plugin-call.bench.ts. Each starts one plugin exposing `echo(x) => x`
 * and returns a `call` that makes one round trip through that system.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { ChildProcessPlugin, Engine, Plugin, PluginManager, WorkerThreadPlugin } from '../../src/engine/index.js';

export interface Running {
  call(x: unknown): Promise<unknown>;
  close(): Promise<void>;
  /** Child processes whose CPU time counts for this system (threads are in our own process). */
  pids?(): number[];
}

export interface System {
  name: string;
  start(): Promise<Running>;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/**
 * Our plugin entries are TypeScript; bundle them to plain JS once (as a user's build would), so
 * the plugin threads/processes run without a TypeScript loader.
 */
let built: { worker: string; child: string } | undefined;
export async function buildPlugins(): Promise<{ worker: string; child: string }> {
  if (built) return built;
  const esbuild = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), 'sb-plugin-call-'));
  const out = { worker: join(dir, 'sb-worker.mjs'), child: join(dir, 'sb-child.mjs') };
  for (const [entry, outfile] of [
    [here('./sb-worker.ts'), out.worker],
    [here('./sb-child.ts'), out.child],
  ] as const) {
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
  }
  built = out;
  return out;
}

async function switchboard(plugin: WorkerThreadPlugin | ChildProcessPlugin): Promise<Running> {
  const engine = new Engine();
  const manager = new PluginManager();
  const host = new Plugin({ name: 'host' });
  engine.register([manager, host, plugin]);
  await manager.activatePlugin(['host', plugin.name]);
  return {
    call: (x) => host.call(plugin.name, 'echo', x),
    close: () => engine.remove(plugin.name),
    pids: () => (plugin instanceof ChildProcessPlugin && plugin.pid ? [plugin.pid] : []),
  };
}

/** Correlated ping-pong over a message transport: what any RPC on it must at least pay. */
function pingPong(
  send: (m: { id: number; x: unknown }) => void,
  onMessage: (cb: (m: { id: number; x: unknown }) => void) => void,
) {
  const pending = new Map<number, (v: unknown) => void>();
  let next = 0;
  onMessage((m) => {
    const r = pending.get(m.id);
    pending.delete(m.id);
    r?.(m.x);
  });
  return (x: unknown) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      send({ id, x });
    });
}

function forkReady(script: string, execArgv: string[] = []): Promise<ChildProcess> {
  const child = fork(script, [], { serialization: 'json', execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', reject);
  });
}

interface RemixPlugin {
  name: string;
  call(target: string, method: string, ...args: unknown[]): Promise<unknown>;
  on(emitter: string, event: string, cb: (...a: unknown[]) => void): void;
}
interface RemixManager {
  activatePlugin(names: string[]): Promise<void>;
  deactivatePlugin(name: string): Promise<void>;
}
interface RemixModules {
  Engine: new () => { register(plugins: unknown[]): void };
  PluginManager: new () => RemixManager;
  Plugin: new (profile: { name: string }) => RemixPlugin;
  ChildProcessPlugin: new (profile: { name: string; url: string; methods: string[] }) => unknown;
}

export const systems: System[] = [
  {
    name: 'switchboard-worker',
    start: async () =>
      switchboard(new WorkerThreadPlugin({ name: 'echo', url: (await buildPlugins()).worker }, { concurrency: 64 })),
  },
  {
    name: 'switchboard-worker-queue1',
    start: async () => switchboard(new WorkerThreadPlugin({ name: 'echo', url: (await buildPlugins()).worker })),
  },
  {
    name: 'switchboard-child',
    start: async () =>
      switchboard(new ChildProcessPlugin({ name: 'echo', url: (await buildPlugins()).child }, { concurrency: 64 })),
  },
  {
    name: 'remix-child',
    async start() {
      const require = createRequire(import.meta.url);
      const {
        Engine: RemixEngine,
        PluginManager: RemixPluginManager,
        Plugin: RemixPluginClass,
      } = require('@remixproject/engine') as RemixModules;
      const { ChildProcessPlugin: RemixChild } = require('@remixproject/engine-node') as RemixModules;
      const engine = new RemixEngine();
      const manager = new RemixPluginManager();
      const host = new RemixPluginClass({ name: 'host' });
      const child = new RemixChild({ name: 'echo', url: here('./remix-child.cjs'), methods: ['echo'] }) as {
        process?: ChildProcess;
      };
      engine.register([manager, host, child]);
      await manager.activatePlugin(['host']);
      // Remix does not wait for the plugin's handshake: wait for the profile update it causes.
      const handshaken = new Promise<void>((resolve) =>
        host.on('manager', 'profileUpdated', (p: unknown) => {
          if ((p as { name?: string }).name === 'echo') resolve();
        }),
      );
      await manager.activatePlugin(['echo']);
      await handshaken;
      return {
        call: (x) => host.call('echo', 'echo', x),
        close: () => manager.deactivatePlugin('echo'),
        pids: () => (child.process?.pid ? [child.process.pid] : []),
      };
    },
  },
  {
    name: 'comlink-worker',
    async start() {
      const worker = new Worker(here('./comlink-worker.mjs'));
      const api = Comlink.wrap<{ echo(x: unknown): unknown }>(nodeEndpoint(worker));
      return {
        call: (x) => api.echo(x) as Promise<unknown>,
        close: async () => {
          api[Comlink.releaseProxy]();
          await worker.terminate();
        },
      };
    },
  },
  {
    name: 'raw-worker',
    async start() {
      const worker = new Worker(here('./raw-worker.mjs'));
      const call = pingPong(
        (m) => worker.postMessage(m),
        (cb) => worker.on('message', cb),
      );
      return {
        call,
        close: async () => {
          await worker.terminate();
        },
      };
    },
  },
  {
    name: 'raw-ipc',
    async start() {
      const child = await forkReady(here('./raw-child.mjs'));
      const call = pingPong(
        (m) => child.send(m),
        (cb) => child.on('message', cb),
      );
      return {
        call,
        close: async () => {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill();
          await exited;
        },
        pids: () => (child.pid ? [child.pid] : []),
      };
    },
  },
];
