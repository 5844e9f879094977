/**
 * One short conversation with a hub for the CLI: connect, send a command to the hub itself,
 * collect the replies a predicate wants, close. JSON lines, so values stay typed. No REGISTER:
 * the hub answers on the asking connection.
 */
import { connect } from '../core/transports/index.js';
import { decodeLine, encodeLine } from '../core/codec/index.js';
import type { Message } from '../core/message.js';
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
      ch.on('close', () => { clearTimeout(timer); reject(new ConnectionError('CONNECTION_CLOSED', `the hub at ${url} closed the connection`)); });
      ch.on('frame', (frame) => {
        let msg: Message;
        try {
          msg = decodeLine(frame);
        } catch {
          return;
        }
        replies.push(msg);
        if (done(replies)) { clearTimeout(timer); resolve(replies); }
      });
      ch.send(encodeLine(command, 'json'));
    });
  } finally {
    ch.close();
  }
}
