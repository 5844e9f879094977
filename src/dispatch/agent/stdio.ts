/**
 * The channel to a connector: its stdout/stdin as one line channel (the core's stream channel:
 * line framing with a length limit, batched writes, bounded queue), and its stderr split into log
 * lines by the same framer.
 */
import type { ChildProcess } from 'node:child_process';
import type { Channel } from '../../core/channel.js';
import { LineFramer } from '../../core/framing.js';
import { streamChannel } from '../../core/transports/stream-channel.js';

export interface ConnectorStdio {
  channel: Channel;
  onLog(listener: (line: string) => void): void;
}

export function openStdio(child: ChildProcess): ConnectorStdio {
  const pid = String(child.pid ?? '?');
  const channel = streamChannel(child.stdout!, child.stdin!, {
    transport: 'stdio',
    remoteAddress: `connector pid ${pid}`,
  });
  const listeners: ((line: string) => void)[] = [];
  // An over-long log line is skipped (and said so); the lines after it still arrive.
  const framer = new LineFramer(
    {
      line: (l) => {
        for (const f of listeners) f(l);
      },
      error: () => {
        for (const f of listeners) f('(a stderr line over the length limit was cut)');
      },
    },
    { overLong: 'skip' },
  );
  child.stderr!.on('data', (chunk: Buffer) => framer.push(chunk));
  return { channel, onLog: (f) => listeners.push(f) };
}
