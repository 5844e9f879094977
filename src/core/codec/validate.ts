/**
 * Checks a message before it is encoded, so neither codec ever writes a line the other side
 * cannot read. Decoders check the same rules on the way in.
 */
import { InvalidMessageError } from '../errors.js';
import type { Message } from '../message.js';
import { badName, knownCommands, knownParams, knownServers, knownServices } from './names.js';

/** Command, destination and sender names (parameter names are checked by the caller's own loop). */
export function assertValidEndpoints(msg: Message): void {
  if (!knownCommands.check(msg.command)) throw new InvalidMessageError(badName('command', msg.command));
  if (!knownServers.check(msg.to.server)) throw new InvalidMessageError(badName('server', msg.to.server));
  if (!knownServices.check(msg.to.service)) throw new InvalidMessageError(badName('service', msg.to.service));
  if (!knownServers.check(msg.sentFrom.server)) throw new InvalidMessageError(badName('server', msg.sentFrom.server));
  if (!knownServices.check(msg.sentFrom.service))
    throw new InvalidMessageError(badName('service', msg.sentFrom.service));
}

export function assertValidMessage(msg: Message): void {
  assertValidEndpoints(msg);
  for (const name in msg.params) {
    if (!knownParams.check(name)) throw new InvalidMessageError(badName('parameter', name));
  }
}

/** Sets a decoded parameter; `__proto__` is a legal name and must stay an own property. */
export function setParam<T>(params: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__')
    Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
  else params[name] = value;
}
