// Runnable example of the plugin engine (README "Plugin engine"):
//   node --import tsx src/engine/examples/hello.ts
import { fileURLToPath } from 'node:url';
import { Engine, Plugin, PluginManager, WorkerThreadPlugin } from '../index.js';

class Host extends Plugin {
  hello(name: string) {
    return `hello ${name}`;
  }
}

const engine = new Engine({ onError: (err, ctx) => console.error(`${ctx.source} of ${ctx.plugin} failed:`, err) });
const manager = new PluginManager();
const host = new Host({ name: 'host', methods: ['hello'] });
const math = new WorkerThreadPlugin(
  { name: 'math', url: fileURLToPath(new URL('./hello-plugin.ts', import.meta.url)) },
  { callTimeoutMs: 2000, concurrency: 4 },
);
engine.register([manager, host, math]);
await manager.activatePlugin('host');

host.on('math', 'themeSeen', (theme) => console.log('math saw theme', theme));
host.emit('theme', 'dark'); // replayed to math when it subscribes

console.log('2 + 3 =', await host.call('math', 'add', 2, 3)); // activates math on first call
console.log(await host.call('math', 'greetHost')); // plugin -> engine -> host
console.log('methods:', (await manager.getProfile('math'))?.methods);
try {
  await host.callWith({ timeoutMs: 10 }, 'math', 'slowSquare', 7);
} catch (err) {
  console.log('timed out as asked:', (err as Error).message);
}
const controller = new AbortController();
setTimeout(() => controller.abort(new Error('user cancelled')), 5);
await host
  .callWith({ signal: controller.signal }, 'math', 'slowSquare', 7)
  .catch((err: Error) => console.log('cancelled:', err.message));
await manager.deactivatePlugin('math');
