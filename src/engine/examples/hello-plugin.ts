// A plugin in a worker thread: exposes two methods and calls back into the host.
import { createClient, withContext, workerThreadConnector } from '../client/index.js';

const client = createClient(workerThreadConnector(), {
  add: (a: number, b: number) => a + b,
  // A method that sees the engine's cancellation (timeout or abort) of its call.
  slowSquare: withContext(async (ctx, n: number) => {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 50);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason as Error);
      });
    });
    return n * n;
  }),
  greetHost: async () => `the host says: ${await client.call<string>('host', 'hello', 'worker')}`,
});
client.on('host', 'theme', (theme) => client.emit('themeSeen', theme));
