/**
 * TypeScript SDK for connectors: the connector protocol over this process's stdin/stdout.
 *
 *   import { hello, emitEvent, listenTask } from 'switchboard/dispatch/sdk';
 *   hello({ events: ['tick'], tasks: ['double'] });
 *   listenTask({ double: async ({ n }) => ({ n: Number(n) * 2 }) });
 *   emitEvent('tick', { at: Date.now() });
 *
 * Logs go to stderr (`log()`), never stdout, which carries only protocol lines.
 */
import { createServer, type Socket } from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { readLines } from '../../core/framing.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { JsonValue } from '../../core/message.js';

export type TaskHandler = (
  inputs: Record<string, JsonValue>,
) => Promise<Record<string, JsonValue>> | Record<string, JsonValue>;

export interface ConnectorIO {
  input: Readable;
  output: Writable;
  errors: Writable;
}

let defaultIO: ConnectorIO | undefined;
let lastHello: string | undefined;

/**
 * stdio, or a TCP port when SWITCHBOARD_CONNECTOR_LISTEN=[host:]port is set: then the connector runs
 * in its own container and its agent connects to it (one agent at a time).
 */
function processIO(): ConnectorIO {
  const listenOn = process.env.SWITCHBOARD_CONNECTOR_LISTEN;
  defaultIO ??= listenOn
    ? socketIO(listenOn)
    : { input: process.stdin, output: process.stdout, errors: process.stderr };
  return defaultIO;
}

const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/** A task line from the agent over this is skipped (and logged): the agent's own queue bound. */
const MAX_TASK_LINE_BYTES = 16 * 1024 * 1024;

function socketIO(listenOn: string): ConnectorIO {
  const i = listenOn.lastIndexOf(':');
  const host = i > 0 ? listenOn.slice(0, i) : '0.0.0.0';
  const port = Number(i >= 0 ? listenOn.slice(i + 1) : listenOn);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`SWITCHBOARD_CONNECTOR_LISTEN must be [host:]port, got "${listenOn}"`);
  const input = new PassThrough();
  let agent: Socket | undefined;
  // Lines written while no agent is connected wait here (bounded: the oldest go first).
  let backlog: Buffer[] = [];
  let backlogBytes = 0;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (agent && !agent.destroyed) {
        agent.write(chunk, () => done());
        return;
      }
      backlog.push(chunk);
      backlogBytes += chunk.length;
      while (backlogBytes > MAX_BACKLOG_BYTES && backlog.length > 1) backlogBytes -= backlog.shift()!.length;
      done();
    },
  });
  const server = createServer((sock) => {
    if (agent && !agent.destroyed) {
      sock.end();
      process.stderr.write('sdk: refused a second agent connection (one at a time)\n');
      return;
    }
    agent = sock;
    sock.setNoDelay(true);
    if (lastHello) sock.write(lastHello); // a new agent learns what this connector declares
    for (const b of backlog) sock.write(b);
    backlog = [];
    backlogBytes = 0;
    sock.on('data', (d: Buffer) => input.write(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (agent === sock) agent = undefined;
    });
  });
  server.listen(port, host, () => process.stderr.write(`sdk: serving the connector protocol on ${host}:${port}\n`));
  return { input, output, errors: process.stderr };
}

// Lines written in one burst go out in one write (one syscall), flushed on the next microtask.
const pending = new Map<Writable, string[]>();

function write(io: ConnectorIO, obj: unknown): void {
  const line = JSON.stringify(obj);
  let lines = pending.get(io.output);
  if (!lines) {
    lines = [];
    pending.set(io.output, lines);
    queueMicrotask(() => {
      pending.delete(io.output);
      io.output.write(`${lines!.join('\n')}\n`);
    });
  }
  lines.push(line);
}

/** Declares the events this connector emits and the tasks it runs (optional; lets the dispatcher validate). */
export function hello(
  decl: { events?: string[]; tasks?: string[]; meta?: Record<string, JsonValue> },
  io: ConnectorIO = processIO(),
): void {
  lastHello = `${JSON.stringify({ type: 'hello', ...decl })}\n`;
  if (io === defaultIO && process.env.SWITCHBOARD_CONNECTOR_LISTEN) return; // sent to each agent as it connects
  write(io, { type: 'hello', ...decl });
}

/** Emits one event. */
export function emitEvent(key: string, data: JsonValue = {}, io: ConnectorIO = processIO()): void {
  write(io, { type: 'event', key, data });
}

/** A line for the connector's log (stderr). */
export function log(message: string, io: ConnectorIO = processIO()): void {
  io.errors.write(`${message}\n`);
}

/**
 * Runs tasks as they arrive: each handler's return value is the task's outputs; a thrown error is
 * reported as the task's error. Unknown task keys are answered with an error. Returns a stop function.
 */
export function listenTask(handlers: Record<string, TaskHandler>, io: ConnectorIO = processIO()): () => void {
  const stop = readLines(
    io.input,
    (text) => {
      let task: { type?: unknown; id?: unknown; key?: unknown; inputs?: unknown };
      try {
        task = JSON.parse(text) as typeof task;
      } catch {
        log(`sdk: ignoring a stdin line that is not JSON: ${text.slice(0, 80)}`, io);
        return;
      }
      if (task.type !== 'task' || typeof task.id !== 'string' || typeof task.key !== 'string') {
        log(`sdk: ignoring a stdin line that is not a task: ${text.slice(0, 80)}`, io);
        return;
      }
      const id = task.id;
      const handler = handlers[task.key];
      if (!handler) {
        write(io, {
          type: 'result',
          id,
          error: `this connector has no task "${task.key}" (it has: ${Object.keys(handlers).join(', ') || 'none'})`,
        });
        return;
      }
      const inputs =
        task.inputs && typeof task.inputs === 'object' && !Array.isArray(task.inputs)
          ? (task.inputs as Record<string, JsonValue>)
          : {};
      Promise.resolve()
        .then(() => handler(inputs))
        .then(
          (outputs) => write(io, { type: 'result', id, outputs: outputs ?? {} }),
          (err: unknown) => write(io, { type: 'result', id, error: err instanceof Error ? err.message : String(err) }),
        );
    },
    {
      maxLineLength: MAX_TASK_LINE_BYTES,
      overLong: 'skip',
      keepPartial: true,
      onOverLong: (err) => log(`sdk: ignoring a stdin line: ${err.message}`, io),
    },
  );
  return () => {
    stop();
    io.input.pause();
  };
}
