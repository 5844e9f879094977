/** Reading a message a person typed and printing the ones that arrive. */
import { decodeLine } from '../core/codec/index.js';
import { encodeJson } from '../core/codec/json.js';
import { encodeText } from '../core/codec/text.js';
import { InvalidArgumentError, errorMessage } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { CORRELATION_PARAM } from '../client/correlation.js';
import type { OutgoingMessage } from '../client/types.js';

/** `service/COMMAND k=v;k2=v2`, `server:service/COMMAND`, or a JSON object line. */
export function parseTypedMessage(line: string): OutgoingMessage {
  const text = line.trim();
  if (text === '')
    throw new InvalidArgumentError("the message is empty: write it as 'service/COMMAND name=value;name2=value2'");
  let msg: Message;
  try {
    msg = decodeLine(text);
  } catch (err) {
    const hint = text.startsWith('{')
      ? 'a JSON message is an object with "service", "command" and "parameters"'
      : "write it as 'service/COMMAND name=value;name2=value2' (commands are upper case)";
    throw new InvalidArgumentError(`cannot read the message "${text.slice(0, 120)}": ${errorMessage(err)}; ${hint}`, {
      cause: err,
    });
  }
  return { command: msg.command, to: msg.to, params: msg.params };
}

/**
 * Values that look like a forgotten `;`: in the text form `search=invoice page_size=10` is ONE
 * parameter, search = "invoice page_size=10". Returns a sentence per such value (JSON lines have
 * explicit parameters and get none), for the tools to print as a note; the message is still sent.
 */
export function separatorHints(line: string, msg: OutgoingMessage): string[] {
  if (line.trim().startsWith('{')) return [];
  const hints: string[] = [];
  for (const [name, value] of Object.entries(msg.params ?? {})) {
    if (typeof value !== 'string') continue;
    const m = /^(.*?)\s+([A-Za-z_][A-Za-z0-9_]*=.*)$/s.exec(value);
    if (!m) continue;
    hints.push(
      `parameter ${name} is ${JSON.stringify(value)}: parameters are separated by ";", not spaces; did you mean ${name}=${m[1]};${m[2]}?`,
    );
  }
  return hints;
}

/** A received message as a line for a person (text form) or a program (`--json`). */
export function formatMessage(msg: Message, json: boolean, hideCorrelation = true): string {
  let shown = msg;
  if (hideCorrelation && msg.params[CORRELATION_PARAM] !== undefined) {
    const params = { ...msg.params };
    delete params[CORRELATION_PARAM];
    shown = { ...msg, params };
  }
  return json ? encodeJson(shown) : encodeText(shown);
}
