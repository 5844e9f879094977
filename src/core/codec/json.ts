/**
 * The JSON line form: `{"sent-from-server","sent-from-service","server","service","command",
 * "parameters":{...}}` with typed parameter values, so numbers, booleans, null, arrays and objects
 * survive a round trip (the text form carries strings only). Unknown keys are ignored; empty
 * fields are left out when encoding. The envelope is checked (zod explains what is wrong); parameter values come
 * straight from JSON.parse, so they are JSON by construction and only their names are checked
 * (which also keeps a parameter named `__proto__`, which a rebuilt record would lose).
 */
import { z } from 'zod';
import { InvalidMessageError, errorMessage } from '../errors.js';
import type { JsonValue, Message } from '../message.js';
import { badName, knownCommands, knownParams, knownServers, knownServices } from './names.js';
import { assertValidMessage } from './validate.js';

export const envelope = z.object({
  'sent-from-server': z.string().optional(),
  'sent-from-service': z.string().optional(),
  server: z.string().optional(),
  service: z.string().optional(),
  command: z.string({ error: 'the "command" key is required and must be a string' }),
  parameters: z.unknown().optional(),
});

type Envelope = z.infer<typeof envelope>;

const OPTIONAL_STRINGS = ['sent-from-server', 'sent-from-service', 'server', 'service'] as const;

/**
 * The same check as `envelope`, by hand: zod costs about as much as JSON.parse itself, so the
 * schema runs only to explain a line that fails this test (and to document the shape).
 */
export function isWellFormed(raw: unknown): raw is Envelope {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const o = raw as Record<string, unknown>;
  if (typeof o.command !== 'string') return false;
  for (const k of OPTIONAL_STRINGS) if (o[k] !== undefined && typeof o[k] !== 'string') return false;
  return true;
}

/** Deeper values would overflow the stack when re-encoded; no real parameter nests this far. */
export const MAX_PARAM_DEPTH = 64;

/** Depth of nested arrays/objects, iteratively (a hostile line must not overflow the stack here either). */
function exceedsDepth(value: JsonValue, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: Array<[JsonValue, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, JsonValue>);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1]);
  }
  return false;
}

function isPlainObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeJson(line: string): Message {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new InvalidMessageError(`a line starting with "{" must be a JSON message: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let m: Envelope;
  if (isWellFormed(raw)) {
    m = raw;
  } else {
    const parsed = envelope.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `"${issue.path.join('.')}": ` : '';
      throw new InvalidMessageError(`invalid JSON message: ${where}${issue?.message ?? 'not an object'}`);
    }
    m = parsed.data;
  }
  const message: Message = {
    sentFrom: { server: m['sent-from-server'] ?? '', service: m['sent-from-service'] ?? '' },
    to: { server: m.server ?? '', service: m.service ?? '' },
    command: m.command,
    params: {},
  };
  // Through the name caches: a name seen before is compared, not re-checked character by character.
  if (!knownCommands.check(message.command)) throw new InvalidMessageError(badName('command', message.command));
  if (!knownServers.check(message.to.server)) throw new InvalidMessageError(badName('server', message.to.server));
  if (!knownServices.check(message.to.service)) throw new InvalidMessageError(badName('service', message.to.service));
  if (!knownServers.check(message.sentFrom.server))
    throw new InvalidMessageError(`sender ${badName('server', message.sentFrom.server)}`);
  if (!knownServices.check(message.sentFrom.service))
    throw new InvalidMessageError(`sender ${badName('service', message.sentFrom.service)}`);
  if (m.parameters !== undefined && m.parameters !== null) {
    if (!isPlainObject(m.parameters))
      throw new InvalidMessageError('invalid JSON message: "parameters" must be an object of name -> value');
    for (const name of Object.keys(m.parameters)) {
      if (!knownParams.check(name)) throw new InvalidMessageError(badName('parameter', name));
      if (exceedsDepth(m.parameters[name]!, MAX_PARAM_DEPTH))
        throw new InvalidMessageError(`parameter ${name} nests arrays/objects deeper than ${MAX_PARAM_DEPTH} levels`);
    }
    message.params = m.parameters;
  }
  return message;
}

export function encodeJson(msg: Message): string {
  assertValidMessage(msg);
  const out: Record<string, unknown> = {};
  if (msg.sentFrom.server) out['sent-from-server'] = msg.sentFrom.server;
  if (msg.sentFrom.service) out['sent-from-service'] = msg.sentFrom.service;
  if (msg.to.server) out.server = msg.to.server;
  if (msg.to.service) out.service = msg.to.service;
  out.command = msg.command;
  out.parameters = msg.params;
  try {
    return JSON.stringify(out);
  } catch (err) {
    throw new InvalidMessageError(`cannot encode the parameters of ${msg.command} as JSON: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}
