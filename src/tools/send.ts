/** `switchboard send 'service/COMMAND k=v'`: one message, optionally waiting for its reply. */
import { SwitchboardError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { connect } from '../client/index.js';
import { formatMessage, parseTypedMessage, separatorHints } from './message-line.js';
import { channelOptions, withSecret, type SendOptions } from './options.js';

/**
 * What is never the reply a person waits for: protocol notices and requests to us. UNKNOWN,
 * INVALID and SERVICE_UNAVAILABLE are left to the client, which turns them into errors.
 */
const NOT_A_REPLY = new Set([
  'AUTHENTICATED',
  'HELP',
  'READY',
  'ALIVE',
  'STOP',
  'DISCONNECTING',
  'QUITTING',
  'UNKNOWN',
  'INVALID',
  'SERVICE_UNAVAILABLE',
]);

export async function runSend(
  line: string,
  options: SendOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const typed = parseTypedMessage(line);
  for (const hint of separatorHints(line, typed)) err.write(`switchboard: note: ${hint}\n`);
  const outgoing = withSecret(typed, options);
  const hub = await connect(options.address, {
    reconnect: false,
    requestTimeoutMs: options.timeoutMs,
    format: options.json ? 'json' : 'text',
    ...channelOptions(options),
  });
  try {
    if (!options.wait) {
      if (!hub.send(outgoing))
        throw new SwitchboardError('UNAVAILABLE', `the message could not be sent to ${options.address}`);
      return;
    }
    await hub.register(options.as ?? `send_${process.pid}`);
    const target = typeof outgoing.to === 'object' ? (outgoing.to.service ?? '') : '';
    let reply: Message;
    try {
      reply = await hub.request(outgoing, {
        timeoutMs: options.timeoutMs,
        // Services that do not echo correlation_id still answer: the first non-notice message counts.
        match: (m) => !NOT_A_REPLY.has(m.command),
      });
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'TIMEOUT') {
        throw new SwitchboardError(
          'TIMEOUT',
          `no reply from ${target || 'the hub'} to ${outgoing.command} within ${options.timeoutMs} ms; check the service is registered (switchboard services) or raise --timeout`,
          { cause: err },
        );
      }
      throw err;
    }
    out.write(`${formatMessage(reply, options.json)}\n`);
  } finally {
    hub.dispose();
  }
}
