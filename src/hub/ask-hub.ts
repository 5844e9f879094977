/**
 * Short conversations with the hub itself over a plain connection (no REGISTER: the hub answers
 * on the asking connection), for the CLI verbs: connect, send one command as a JSON line (so
 * structured replies come back typed), collect replies, close. The connection proves who it is
 * first when a token is at hand (src/trust/client-token.ts: hub.token for a hub on this machine).
 */
import { hubAddressFrom } from '../core/address.js';
import { ConnectionError, SwitchboardError, TimeoutError, errorMessage } from '../core/errors.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { MessageConnection } from '../core/message-connection.js';
import { connect } from '../core/transports/index.js';
import { clientToken } from '../trust/client-token.js';

/** The hub a CLI verb talks to: `--address`, else SWITCHBOARD_ADDRESS, else COMMUNICATOR_LISTEN, else the local default. */
export function hubAddress(given: string | undefined): string {
  return hubAddressFrom(given);
}

/**
 * Sends `command` to the hub at `address` and resolves with the replies once `done(replies)` is
 * true (or rejects after `timeoutMs`). `done` may throw to reject with its error.
 */
export async function askHub(
  address: string,
  command: Message,
  done: (replies: Message[]) => boolean,
  timeoutMs = 5000,
): Promise<Message[]> {
  let channel;
  try {
    channel = await connect(address, { connectTimeoutMs: timeoutMs });
  } catch (err) {
    throw new ConnectionError(
      'CONNECTION_FAILED',
      `cannot connect to ${address}: ${errorMessage(err)} (is the hub running? start one with \`switchboard hub\`, or give its address with --address)`,
      { cause: err },
    );
  }
  const ch = new MessageConnection(channel, { format: 'json' });
  const replies: Message[] = [];
  try {
    return await new Promise<Message[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new TimeoutError(`the hub at ${address} did not answer ${command.command} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      ch.listen({
        close: () => {
          clearTimeout(timer);
          reject(
            new ConnectionError(
              'CONNECTION_CLOSED',
              `the hub at ${address} closed the connection before answering ${command.command}`,
            ),
          );
        },
        // A line that does not decode is not an answer: skipped.
        message: ({ message }) => {
          replies.push(message);
          try {
            if (done(replies)) {
              clearTimeout(timer);
              resolve(replies);
            }
          } catch (err) {
            clearTimeout(timer);
            reject(err instanceof SwitchboardError ? err : new SwitchboardError('INTERNAL', errorMessage(err)));
          }
        },
      });
      // The same-user token (hub.token) first: the hub reads the lines in order.
      const auth = clientToken(address, undefined);
      if (auth) ch.send(createMessage('AUTH', { token: auth.token }));
      ch.send(command);
    });
  } finally {
    ch.close();
  }
}

/** One command, one expected reply command; the hub's INVALID/UNKNOWN for it rejects as REFUSED. */
export async function hubRequest(
  address: string,
  command: string,
  params: Record<string, JsonValue>,
  replyCommand: string,
  timeoutMs = 5000,
): Promise<Message> {
  const replies = await askHub(
    address,
    createMessage(command, params),
    (r) => {
      const msg = r[r.length - 1]!;
      if (msg.command === replyCommand) return true;
      if (
        (msg.command === 'INVALID' || msg.command === 'UNKNOWN') &&
        (msg.params.command === command || msg.params.command === undefined)
      ) {
        throw new SwitchboardError(
          'REFUSED',
          `the hub answered ${command} with ${msg.command}: ${String(msg.params.message ?? msg.params.command ?? '')}`,
        );
      }
      return false;
    },
    timeoutMs,
  );
  return replies[replies.length - 1]!;
}
