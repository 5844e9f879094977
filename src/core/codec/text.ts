/**
 * The communicator's text line form, exactly:
 *
 *   ['<' from_server ':' from_service ' '] [[server ':'] service '/'] COMMAND [' ' name '=' value (';' name '=' value)*]
 *
 * Encoding: the sender block only when one of its fields is set; `server:` only with a service;
 * parameters sorted by name; values escaped (`\` -> `\\`, LF -> `\n`, CR -> `\r`) and wrapped in
 * `"..."` (inner `"` -> `\"`) when they contain `;` or start with `"`. One addition: a value that
 * ends in a space or tab is quoted too, because readers trim the line and would lose it (the
 * original's reader accepts the quoted form, so compatibility holds).
 *
 * Decoding: the input is trimmed, a trailing `;` is accepted, names are checked, and a quoted value
 * is read escape by escape (the original mis-reads a quoted value ending in `\`; this reader does
 * not). It is a single left-to-right pass with `indexOf`, no regular expressions: the hub runs it
 * for every line it receives.
 */
import { InvalidMessageError, errorMessage } from '../errors.js';
import { paramToString, type JsonValue, type Message } from '../message.js';
import { badName, knownCommands, knownParams, knownServers, knownServices } from './names.js';
import { assertValidEndpoints, setParam } from './validate.js';

// Whitespace as C's isspace() sees it (what boost::trim removes in the original).
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

// Most lines repeat a handful of names: read them through caches (see NameCache).
const serverNames = knownServers;
const serviceNames = knownServices;
const commandNames = knownCommands;
const paramNames = knownParams;

function fail(reason: string, line: string): never {
  const shown = line.length > 120 ? `${line.slice(0, 120)}...` : line;
  throw new InvalidMessageError(`${reason} (in ${JSON.stringify(shown)})`);
}

/** Undoes `\\`, `\n`, `\r` (and `\"` inside quotes); any other `\x` stays as it is, like the original. */
function unescape(
  raw: string,
  from: number,
  to: number,
  quoted: boolean,
  line: string,
): { value: string; end: number } {
  let out = '';
  let run = from;
  let i = from;
  while (i < to) {
    const c = raw.charCodeAt(i);
    if (c === 92 /* \ */) {
      const next = raw.charCodeAt(i + 1); // NaN past the end
      let repl: string | undefined;
      if (next === 92) repl = '\\';
      else if (next === 110) repl = '\n';
      else if (next === 114) repl = '\r';
      else if (quoted && next === 34) repl = '"';
      if (repl !== undefined) {
        out += raw.slice(run, i) + repl;
        i += 2;
        run = i;
        continue;
      }
      i++;
      continue;
    }
    if (quoted && c === 34 /* " */) return { value: out + raw.slice(run, i), end: i };
    i++;
  }
  if (quoted) fail('a quoted parameter value must end with a quote (")', line);
  return { value: out + raw.slice(run, to), end: to };
}

/** The head of a text line and what the parameters hold that a router acts on. */
export interface TextHead {
  fromServer: string;
  fromService: string;
  server: string;
  service: string;
  command: string;
  /** A `cache` or `transmission_report` parameter is present. */
  special: boolean;
}

// Filled in place by parse(): the codec is not re-entrant, and this saves an object per line.
const head: TextHead = { fromServer: '', fromService: '', server: '', service: '', command: '', special: false };

/**
 * The one parser behind decodeText and scanText: every check on every part of the line; with
 * `params` it also builds the parameters, without it only validates them (no value is copied).
 */
function parse(input: string, params: Record<string, string> | undefined): TextHead {
  let start = 0;
  let end = input.length;
  while (start < end && isSpace(input.charCodeAt(start))) start++;
  while (end > start && isSpace(input.charCodeAt(end - 1))) end--;
  if (start === end) fail('the line is empty: expected a message such as "service/COMMAND name=value"', input);
  const line = start === 0 && end === input.length ? input : input.slice(start, end);
  const len = line.length;

  let pos = 0;
  let fromServer = '';
  let fromService = '';
  if (line.charCodeAt(0) === 60 /* < */) {
    const space = line.indexOf(' ', 1);
    if (space === -1)
      fail(
        'a message cannot be only a sender block: "<server:service" must be followed by a space and a command',
        line,
      );
    const colon = line.indexOf(':', 1);
    if (colon === -1 || colon > space)
      fail('the sender block must be "<server:service " with a colon before the first space', line);
    fromServer =
      colon === 1
        ? ''
        : (serverNames.read(line, 1, colon) ?? fail(`sender ${badName('server', line.slice(1, colon))}`, line));
    fromService =
      colon + 1 === space
        ? ''
        : (serviceNames.read(line, colon + 1, space) ??
          fail(`sender ${badName('service', line.slice(colon + 1, space))}`, line));
    pos = space + 1;
  }

  let headEnd = line.indexOf(' ', pos);
  if (headEnd === -1) headEnd = len;
  let server = '';
  let service = '';
  let commandStart = pos;
  // The head is short: one loop finds the first ':' and '/' without scanning the parameters.
  let slash = -1;
  let colon = -1;
  for (let i = pos; i < headEnd; i++) {
    const c = line.charCodeAt(i);
    if (c === 47 /* / */) {
      slash = i;
      break;
    }
    if (c === 58 /* : */ && colon === -1) colon = i;
  }
  if (slash !== -1) {
    if (colon !== -1) {
      if (colon === pos) fail('a server name cannot be empty before ":" (write server:service/COMMAND)', line);
      server = serverNames.read(line, pos, colon) ?? fail(badName('server', line.slice(pos, colon)), line);
    }
    const serviceStart = colon !== -1 ? colon + 1 : pos;
    if (serviceStart === slash) fail('a service name is required before "/" (write service/COMMAND)', line);
    service =
      serviceNames.read(line, serviceStart, slash) ?? fail(badName('service', line.slice(serviceStart, slash)), line);
    commandStart = slash + 1;
  }
  if (commandStart === headEnd) fail('a command is required (e.g. "service/COMMAND")', line);
  const command =
    commandNames.read(line, commandStart, headEnd) ??
    (slash === -1 && colon > pos
      ? fail('a server name is only allowed together with a service: write server:service/COMMAND', line)
      : fail(badName('command', line.slice(commandStart, headEnd)), line));

  let special = false;
  pos = headEnd + 1;
  // Position of the next backslash at or after `pos` (len when none): found once, not per value.
  let backslash = pos < len && params !== undefined ? line.indexOf('\\', pos) : -1;
  if (backslash === -1) backslash = len;
  while (pos < len) {
    const eq = line.indexOf('=', pos);
    if (eq === -1)
      fail(`parameter ${JSON.stringify(line.slice(pos, pos + 64))} must be followed by "=" and a value`, line);
    const name = paramNames.read(line, pos, eq) ?? fail(badName('parameter', line.slice(pos, eq)), line);
    if (name === 'cache' || name === 'transmission_report') special = true;
    const v = eq + 1;
    if (line.charCodeAt(v) === 34 /* " */) {
      const { value, end: close } = unescape(line, v + 1, len, true, line);
      if (params !== undefined) setParam(params, name, value);
      pos = close + 1;
      if (pos < len) {
        if (line.charCodeAt(pos) !== 59 /* ; */)
          fail(`after the quoted value of ${name}, expected ";" before the next parameter`, line);
        pos++;
      }
    } else {
      let semi = line.indexOf(';', v);
      if (semi === -1) semi = len;
      if (params !== undefined) {
        if (backslash < v) {
          backslash = line.indexOf('\\', v);
          if (backslash === -1) backslash = len;
        }
        setParam(params, name, backslash >= semi ? line.slice(v, semi) : unescape(line, v, semi, false, line).value);
      }
      pos = semi + 1;
    }
  }

  head.fromServer = fromServer;
  head.fromService = fromService;
  head.server = server;
  head.service = service;
  head.command = command;
  head.special = special;
  return head;
}

export function decodeText(input: string): Message {
  const params: Record<string, string> = {};
  const h = parse(input, params);
  return {
    sentFrom: { server: h.fromServer, service: h.fromService },
    to: { server: h.server, service: h.service },
    command: h.command,
    params,
  };
}

/**
 * Checks a line exactly as decodeText does (same rules for every part, parameters included) but
 * builds no message: the head, or undefined when decodeText would throw. For a router that only
 * needs the destination. The object returned is reused by the next call: read it at once.
 */
export function scanText(input: string): Readonly<TextHead> | undefined {
  try {
    return parse(input, undefined);
  } catch (err) {
    if (err instanceof InvalidMessageError) return undefined;
    throw err;
  }
}

function encodeValue(value: string): string {
  let safe = value;
  if (safe.indexOf('\\') !== -1) safe = safe.replaceAll('\\', '\\\\');
  if (safe.indexOf('\n') !== -1) safe = safe.replaceAll('\n', '\\n');
  if (safe.indexOf('\r') !== -1) safe = safe.replaceAll('\r', '\\r');
  const n = safe.length;
  if (n === 0) return safe;
  const last = safe.charCodeAt(n - 1);
  if (safe.charCodeAt(0) === 34 || safe.indexOf(';') !== -1 || isSpace(last)) {
    return `"${safe.indexOf('"') === -1 ? safe : safe.replaceAll('"', '\\"')}"`;
  }
  return safe;
}

function stringify(name: string, value: JsonValue): string {
  try {
    return paramToString(value);
  } catch (err) {
    throw new InvalidMessageError(`cannot write parameter ${name} as text: ${errorMessage(err)}`, { cause: err });
  }
}

/** The line for a message, without the newline. Throws InvalidMessageError on a bad name. */
export function encodeText(msg: Message): string {
  assertValidEndpoints(msg);
  const { sentFrom, to, params } = msg;
  let out = '';
  if (sentFrom.server.length !== 0 || sentFrom.service.length !== 0) out = `<${sentFrom.server}:${sentFrom.service} `;
  if (to.service.length !== 0) out += to.server.length !== 0 ? `${to.server}:${to.service}/` : `${to.service}/`;
  out += msg.command;
  const names = Object.keys(params);
  if (names.length > 1) names.sort();
  let sep = ' ';
  for (const name of names) {
    const value = params[name];
    if (value === undefined) continue;
    if (!knownParams.check(name)) throw new InvalidMessageError(badName('parameter', name));
    out += sep + name + '=' + encodeValue(typeof value === 'string' ? value : stringify(name, value));
    sep = ';';
  }
  return out;
}
