// The demo host page: an engine with an iframe plugin and a worker plugin that call each other.
import { Engine, IframePlugin, Plugin, PluginManager, WebWorkerPlugin } from '../browser/index.js';

const out = document.getElementById('out')!;
const log = (text: string) => {
  const li = document.createElement('li');
  li.textContent = text;
  out.append(li);
};

const engine = new Engine({
  name: 'switchboard-demo',
  onError: (err, ctx) => log(`error in ${ctx.source} of ${ctx.plugin}: ${String(err)}`),
});
const manager = new PluginManager();
const host = new Plugin({ name: 'host' });
const frame = new IframePlugin(
  { name: 'frame', url: '/demo/iframe.html', methods: [] },
  { target: () => document.getElementById('frames')! },
);
const worker = new WebWorkerPlugin({ name: 'worker', url: '/demo/worker.js' });
engine.register([manager, host, frame, worker]);
host.on('manager', 'pluginActivated', (p) => log(`activated ${(p as { name: string }).name}`));

async function start(): Promise<void> {
  await manager.activatePlugin(['host', 'frame', 'worker']);
  log(`frame answers: ${await host.call<string>('frame', 'greet', 'host')}`);
  log(`frame -> worker: fib(20) = ${await host.call<number>('frame', 'askWorker', 20)}`);
  log(`worker -> frame: ${await host.call<string>('worker', 'askFrame', 'worker')}`);
  document.body.dataset.ready = 'true';
}
start().catch((err: unknown) => log(`demo failed: ${String(err)}`));
Object.assign(window, { demo: { engine, manager, host } });
