/** Example connector `timer`: a `tick` event every TIMER_INTERVAL_MS (default 1000) with a counter. */
import { emitEvent, hello } from '../sdk/index.js';

const every = Math.max(1, Number(process.env.TIMER_INTERVAL_MS ?? 1000));
hello({ events: ['tick'], tasks: [], meta: { intervalMs: every } });
let n = 0;
const timer = setInterval(() => {
  n++;
  emitEvent('tick', { n, at: new Date().toISOString() });
}, every);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
