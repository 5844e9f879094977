// Bench connector: on task `emit` {n}, emits n `tick` events as fast as stdout takes them.
import { emitEvent, hello, listenTask } from '../../src/dispatch/sdk/index.js';

hello({ events: ['tick'], tasks: ['emit'] });
listenTask({
  emit: async (inputs) => {
    const n = Number(inputs.n);
    for (let i = 0; i < n; i++) {
      emitEvent('tick', { shard: 0, n: i, payload: 'x'.repeat(64) });
      if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let stdout drain
    }
    return { emitted: n };
  },
});
