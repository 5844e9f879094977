/**
 * Picks the codec for a line: one starting with `{` (after leading whitespace) is JSON, anything
 * else is the communicator's text form. Replies usually go back in the format the peer used.
 */
import type { Message } from '../message.js';
import { decodeJson, encodeJson } from './json.js';
import { decodeText, encodeText } from './text.js';

export type WireFormat = 'text' | 'json';

export { decodeJson, encodeJson } from './json.js';
export { decodeText, encodeText, scanText, type TextHead } from './text.js';
export { isCommandName, isParamName, isServerName, isServiceName } from './names.js';

/** The format a line is written in. */
export function lineFormat(line: string): WireFormat {
  let i = 0;
  let c = line.charCodeAt(0);
  while (c === 32 || (c >= 9 && c <= 13)) c = line.charCodeAt(++i);
  return c === 123 /* { */ ? 'json' : 'text';
}

/** Decodes a text or JSON line; throws InvalidMessageError with a sentence a person can act on. */
export function decodeLine(line: string): Message {
  return lineFormat(line) === 'json' ? decodeJson(line) : decodeText(line);
}

export function encodeLine(msg: Message, format: WireFormat = 'text'): string {
  return format === 'json' ? encodeJson(msg) : encodeText(msg);
}
