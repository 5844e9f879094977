/**
 * The one message model of Switchboard (the communicator's): who sent it, where it goes, a command
 * and named parameters. Requests, replies, events and actions are all messages.
 *
 * Empty strings mean "not set" (the text form omits them), so every field is always present and
 * code never has to distinguish `undefined` from `''`.
 */

/** A JSON value: parameter values are typed in the JSON form and strings in the text form. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A place on the network: a hub (server) and a service on it. */
export interface Endpoint {
  /** Hub name; `''`/`*` any hub, `.` this hub, `?` remote hubs only. */
  server: string;
  /** Service name; `*`, `?`, `.` are broadcasts. May carry `#instance`. */
  service: string;
}

export interface Message {
  sentFrom: Endpoint;
  to: Endpoint;
  command: string;
  params: Record<string, JsonValue>;
}

/** Parameter names: `[A-Za-z_][A-Za-z0-9_]*`. */
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Commands: `[A-Z_][A-Z0-9_]*`. */
export const COMMAND_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Builds a message with defaults for whatever is left out. */
export function createMessage(
  command: string,
  params: Record<string, JsonValue> = {},
  to: Partial<Endpoint> = {},
  sentFrom: Partial<Endpoint> = {},
): Message {
  return {
    sentFrom: { server: sentFrom.server ?? '', service: sentFrom.service ?? '' },
    to: { server: to.server ?? '', service: to.service ?? '' },
    command,
    params,
  };
}

/** A parameter as the text form carries it: strings as they are, anything else as JSON. */
export function paramToString(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  return JSON.stringify(value);
}

/** The message protocol version, sent as `version=1` (REGISTER, CONNECT). */
export const MESSAGE_VERSION = 1;

/** Characters of a message in the text form, closely enough for a budget (names, keys, values). */
export function messageBytes(msg: Message): number {
  let n = 16 + msg.command.length + msg.to.server.length + msg.to.service.length;
  n += msg.sentFrom.server.length + msg.sentFrom.service.length;
  for (const key in msg.params) n += key.length + 2 + valueBytes(msg.params[key]!);
  return n;
}

function valueBytes(v: JsonValue): number {
  if (typeof v === 'string') return v.length;
  if (v === null || typeof v !== 'object') return 8;
  try {
    return JSON.stringify(v).length;
  } catch {
    // Nested past the stack: it was parsed, so it is at most a line long; count it generously.
    return 1 << 20;
  }
}
