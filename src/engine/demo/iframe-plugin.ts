// Demo plugin in an iframe, written with the Switchboard browser client.
import { createClient, iframeConnector } from '../browser/client.js';

const log = (text: string) => {
  const li = document.createElement('li');
  li.textContent = text;
  document.getElementById('log')!.append(li);
};

const client = createClient(iframeConnector(), {
  greet: (name: string) => {
    log(`greet(${name})`);
    return `Hello ${name}, from the iframe plugin`;
  },
  /** Calls the worker plugin through the engine. */
  askWorker: async (n: number) => {
    const r = await client.call<number>('worker', 'fib', n);
    log(`worker says fib(${n}) = ${r}`);
    return r;
  },
  goAway: (url: string) => {
    setTimeout(() => {
      window.location.href = url;
    }, 0);
    return true;
  },
});
client.on('worker', 'computed', (n) => log(`event: worker computed ${String(n)}`));
void client.onload(() => log(`connected to the engine as "${client.name}"`));
document.getElementById('ask')!.addEventListener('click', () => {
  void client.call('worker', 'fib', 25).then((r) => log(`fib(25) = ${String(r)}`));
});
