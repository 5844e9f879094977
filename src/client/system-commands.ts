/**
 * What every service answers without being asked to, as the communicator requires: HELP lists
 * the commands, ALIVE gets ABSOLUTELY, an unknown command gets UNKNOWN. And how the hub's own
 * messages (STATUS, SERVICE_UNAVAILABLE, UNKNOWN) are read.
 */
import type { Message } from '../core/message.js';
import type { ReplyInit, ServiceStatus } from './types.js';

/**
 * Commands the library handles itself; always part of the COMMANDS list. STATUS is added only
 * while someone listens (`onStatus`): the hub sends every registration change to those who list it.
 */
export const BUILTIN_COMMANDS = [
  'ABSOLUTELY',
  'ALIVE',
  'DISCONNECTING',
  'HELP',
  'INVALID',
  'QUITTING',
  'READY',
  'STOP',
  'UNKNOWN',
];

/** Messages that are answers or notices: never answered with UNKNOWN (that would ping-pong). */
export const NEVER_ANSWERED = new Set([
  'ABSOLUTELY',
  'AUTHENTICATED',
  'COMMANDS',
  'DISCONNECTING',
  'ERROR',
  'HANGUP',
  'INVALID',
  'QUITTING',
  'READY',
  'SERVICE_UNAVAILABLE',
  'STATUS',
  'TRANSMISSION_REPORT',
  'UNKNOWN',
  'UNREACHABLE',
]);

export function commandsReply(commands: Iterable<string>): ReplyInit {
  return { command: 'COMMANDS', params: { list: [...new Set(commands)].sort().join(',') } };
}

export function aliveReply(msg: Message): ReplyInit {
  const params: Record<string, string> = { reply_timestamp: (Date.now() / 1000).toFixed(6) };
  for (const key of ['serial', 'timestamp']) {
    const v = msg.params[key];
    if (v !== undefined) params[key] = String(v);
  }
  return { command: 'ABSOLUTELY', params };
}

export function unknownReply(msg: Message): ReplyInit {
  return { command: 'UNKNOWN', params: { command: msg.command } };
}

export function parseStatus(msg: Message): ServiceStatus | undefined {
  const service = msg.params.service;
  const status = msg.params.status;
  if (typeof service !== 'string' || (status !== 'up' && status !== 'down')) return undefined;
  const sinceRaw = msg.params[status === 'up' ? 'up_since' : 'down_since'];
  const seconds = typeof sinceRaw === 'number' ? sinceRaw : typeof sinceRaw === 'string' ? Number(sinceRaw) : NaN;
  const server = msg.params.server_name ?? msg.params.server ?? msg.sentFrom.server;
  const instances = Number(msg.params.instances);
  return {
    service,
    server: typeof server === 'string' ? server : '',
    status,
    since: Number.isFinite(seconds) ? new Date(seconds * 1000) : undefined,
    instance: stringParam(msg, 'instance'),
    instances: msg.params.instances !== undefined && Number.isFinite(instances) ? instances : undefined,
    message: msg,
  };
}

export function stringParam(msg: Message, name: string): string | undefined {
  const v = msg.params[name];
  return v === undefined || v === null ? undefined : typeof v === 'string' ? v : String(v);
}
