/**
 * {{name}}: a Switchboard event connector. `switchboard agent --kind {{name}} -- node dist/main.js`
 * runs it beside an agent, which registers it with the dispatcher, forwards the events triggers
 * ask for and brings tasks back. It talks to the agent in JSON lines on stdin/stdout; the SDK in
 * `switchboard/dispatch` writes and reads them. Logs go to stderr (`log`), never stdout.
 *
 * It emits `tick` every TICK_SECONDS (default 2) and runs the task `greet`. Replace both with what
 * your source emits (a webhook, a queue, a file watcher) and what it can do.
 */
import { emitEvent, hello, listenTask, log, type TaskHandler } from 'switchboard/dispatch';

/** The task handlers: inputs in, outputs out; a throw is reported as the task's error. */
const tasks: Record<string, TaskHandler> = {
  greet({ name }) {
    if (typeof name !== 'string' || name === '') throw new Error('greet needs a "name" (a non-empty string)');
    return { greeting: `Hello, ${name}!` };
  },
};

const seconds = Number(process.env.TICK_SECONDS ?? 2);
if (!(seconds > 0)) throw new Error(`TICK_SECONDS must be a positive number, got ${process.env.TICK_SECONDS}`);

hello({ events: ['tick'], tasks: Object.keys(tasks) }); // lets the dispatcher check what arrives
listenTask(tasks);
let n = 0;
const timer = setInterval(() => emitEvent('tick', { n: ++n, at: new Date().toISOString() }), seconds * 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  log('{{name}}: stopping');
  process.exit(0);
});
