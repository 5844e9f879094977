/**
 * Plugin side of ChildProcessPlugin.
 * - `childProcessConnector()`: the IPC channel of a process started with `fork()`.
 * - `stdioConnector()`: one JSON message per line on stdin/stdout (for `mode: 'stdio'`). Write
 *   logs to stderr: stdout belongs to the protocol.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { SwitchboardError } from '../../../core/errors.js';
import type { RemixMessage } from '../../protocol.js';
import type { ClientConnector } from '../client.js';

export function childProcessConnector(proc: NodeJS.Process = process): ClientConnector {
  if (!proc.send)
    throw new SwitchboardError(
      'UNAVAILABLE',
      'this process has no IPC channel: start it with ChildProcessPlugin (fork), or use stdioConnector()',
    );
  let onMessage: ((m: unknown) => void) | undefined;
  return {
    batch: true,
    send: (message: RemixMessage) => {
      if (proc.connected) proc.send!(message);
    },
    on: (cb) => {
      onMessage = cb;
      proc.on('message', cb);
    },
    close: () => {
      if (onMessage) proc.off('message', onMessage);
      if (proc.connected) proc.disconnect?.();
    },
  };
}

export function stdioConnector(input: Readable = process.stdin, output: Writable = process.stdout): ClientConnector {
  const lines = createInterface({ input, crlfDelay: Infinity });
  return {
    send: (message: RemixMessage) => {
      output.write(JSON.stringify(message) + '\n');
    },
    on: (cb) => {
      lines.on('line', (line) => {
        if (line.trim()) cb(line);
      });
    },
    close: () => lines.close(),
  };
}
