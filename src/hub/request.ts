/**
 * One request to the hub itself over a plain connection (no registration): send a command, wait
 * for the reply command, close. Used by `switchboard services`.
 */
import { decodeLine, encodeJson } from '../core/codec/index.js';
import { ConnectionError, SwitchboardError, TimeoutError, errorMessage } from '../core/errors.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { connect } from '../core/transports/index.js';

export async function hubRequest(address: string, command: string, params: Record<string, JsonValue>, replyCommand: string, timeoutMs = 5000): Promise<Message> {
  let channel;
  try {
    channel = await connect(address, { connectTimeoutMs: timeoutMs });
  } catch (err) {
    throw new ConnectionError('CONNECTION_FAILED', `cannot connect to ${address}: ${errorMessage(err)} (is the hub running? start one with \`switchboard hub\`)`, { cause: err });
  }
  const ch = channel;
  try {
    return await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`the hub at ${address} did not answer ${command} within ${timeoutMs} ms`)), timeoutMs);
      ch.on('frame', (frame) => {
        let msg: Message;
        try {
          msg = decodeLine(frame);
        } catch {
          return;
        }
        if (msg.command === replyCommand) { clearTimeout(timer); resolve(msg); }
        else if ((msg.command === 'INVALID' || msg.command === 'UNKNOWN') && (msg.params.command === command || msg.params.command === undefined)) {
          clearTimeout(timer);
          reject(new SwitchboardError('REFUSED', `the hub answered ${command} with ${msg.command}: ${String(msg.params.message ?? msg.params.command ?? '')}`));
        }
      });
      ch.on('close', () => { clearTimeout(timer); reject(new ConnectionError('CONNECTION_CLOSED', `the hub at ${address} closed the connection before answering ${command}`)); });
      // JSON, so structured replies (the service list) come back typed.
      ch.send(encodeJson(createMessage(command, params)));
    });
  } finally {
    ch.close();
  }
}
