// Demo plugin in a Web Worker, written with the Switchboard browser client.
import { createClient, webWorkerConnector } from '../browser/client.js';

const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2));

const client = createClient(webWorkerConnector(), {
  fib: (n: number) => {
    const r = fib(n);
    client.emit('computed', r);
    return r;
  },
  /** Calls the iframe plugin through the engine. */
  askFrame: (name: string) => client.call<string>('frame', 'greet', name),
});
