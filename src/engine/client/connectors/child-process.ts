/**
 * Plugin side of ChildProcessPlugin.
 * - `childProcessConnector()`: the IPC channel of a process started with `fork()`.
 * - `stdioConnector()`: one JSON message per line on stdin/stdout (for `mode: 'stdio'`). Write
 *   logs to stderr: stdout belongs to the protocol.
 */
import type { Readable, Writable } from 'node:stream';
import { SwitchboardError } from '../../../core/errors.js';
import { readLines } from '../../../core/framing.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type RemixMessage } from '../../protocol.js';
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

/**
 * `maxLineLength`: a line from the engine over it (bytes) is skipped and reported on stderr (the
 * engine refuses messages over its own limit, 1 MiB by default, anyway).
 */
export function stdioConnector(
  input: Readable = process.stdin,
  output: Writable = process.stdout,
  {
    maxLineLength = DEFAULT_MAX_MESSAGE_BYTES,
    errors = process.stderr,
  }: { maxLineLength?: number; errors?: Writable } = {},
): ClientConnector {
  let stop: (() => void) | undefined;
  return {
    send: (message: RemixMessage) => {
      output.write(JSON.stringify(message) + '\n');
    },
    on: (cb) => {
      stop = readLines(
        input,
        (line) => {
          if (line.trim()) cb(line);
        },
        {
          maxLineLength,
          overLong: 'skip',
          keepPartial: true,
          onOverLong: (err) => errors.write(`plugin client: ${err.message}\n`),
        },
      );
    },
    close: () => {
      stop?.();
      input.pause();
    },
  };
}
