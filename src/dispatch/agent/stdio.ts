/**
 * The channel to a connector: its stdout/stdin as one line channel, its stderr as another (log
 * lines). Built on the core's stream channel so the agent, like everything else, talks through a
 * Channel.
 */
import type { ChildProcess } from 'node:child_process';
import type { Channel } from '../../core/channel.js';
import type { Logger } from '../../core/log.js';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore core lands soon
import { streamChannel } from '../../core/transports/stream.js';

export function openStdio(child: ChildProcess, _log: Logger): { lines: Channel; errLines: Channel; input: Channel } {
  const pid = String(child.pid ?? '?');
  const io = streamChannel(child.stdout!, child.stdin!, { transport: 'stdio', remoteAddress: `pid ${pid} stdio` });
  const err = streamChannel(child.stderr!, null, { transport: 'stdio', remoteAddress: `pid ${pid} stderr` });
  return { lines: io, errLines: err, input: io };
}
