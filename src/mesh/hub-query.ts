/**
 * One short conversation with a hub for the CLI: connect, register under a throw-away name, send
 * a command, collect the replies a predicate wants, close. JSON lines, so values stay typed.
 */
import { connect } from '../core/transports/index.js';
import { decodeLine, encodeLine } from '../core/codec/index.js';
import { createMessage, type Message } from '../core/message.js';
import { ConnectionError, TimeoutError, errorMessage } from '../core/errors.js';

export const DEFAULT_HUB_ADDRESS = 'cd://127.0.0.1:4040';

export function hubAddress(given: string | undefined): string {
  return given ?? process.env.SWITCHBOARD_ADDRESS ?? DEFAULT_HUB_ADDRESS;
}

/**
 * Sends `command` to the hub at `url` and resolves with the replies once `done(replies)` is true
 * (or rejects after `timeoutMs`).
 */
export async function askHub(url: string, command: Message, done: (replies: Message[]) => boolean, timeoutMs = 5000): Promise<Message[]> {
  let channel;
  try {
    channel = await connect(url);
  } catch (err) {
    throw new ConnectionError('CONNECTION_FAILED', `cannot reach the hub at ${url}: ${errorMessage(err)} (is it running? give its address with --address)`, { cause: err });
  }
  const ch = channel;
  const replies: Message[] = [];
  try {
    return await new Promise<Message[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`the hub at ${url} did not answer ${command.command} within ${timeoutMs} ms`)), timeoutMs);
      let ready = false;
      ch.on('close', () => { clearTimeout(timer); reject(new ConnectionError('CONNECTION_CLOSED', `the hub at ${url} closed the connection`)); });
      ch.on('frame', (frame) => {
        let msg: Message;
        try {
          msg = decodeLine(frame);
        } catch {
          return;
        }
        if (!ready) {
          if (msg.command === 'READY') {
            ready = true;
            ch.send(encodeLine(command, 'json'));
          }
          return;
        }
        if (msg.command === 'HELP' || msg.command === 'STATUS') return;
        replies.push(msg);
        if (done(replies)) { clearTimeout(timer); resolve(replies); }
      });
      ch.send(encodeLine(createMessage('REGISTER', { service: `cli_${process.pid}`, version: '1', format: 'json' }), 'json'));
    });
  } finally {
    ch.close();
  }
}
