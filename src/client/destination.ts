/** Turns a destination (`'service'`, `'server:service'`, an endpoint) into a full endpoint. */
import { InvalidArgumentError } from '../core/errors.js';
import type { Endpoint } from '../core/message.js';
import type { Destination } from './types.js';

const NAME = /^(?:[A-Za-z0-9_.\-]*|[*?.])$/;
const SERVICE = /^(?:[A-Za-z0-9_.\-]+(?:#[A-Za-z0-9_.\-]+)?|[*?.])$/;

export function toEndpoint(to: Destination | undefined): Endpoint {
  if (to === undefined) return { server: '', service: '' };
  let server: string;
  let service: string;
  if (typeof to === 'string') {
    const colon = to.indexOf(':');
    server = colon >= 0 ? to.slice(0, colon) : '';
    service = colon >= 0 ? to.slice(colon + 1) : to;
  } else {
    server = to.server ?? '';
    service = to.service ?? '';
  }
  if (!NAME.test(server)) throw new InvalidArgumentError(`invalid server name "${server}": use letters, digits, _ . - or one of * ? .`);
  if (service !== '' && !SERVICE.test(service)) throw new InvalidArgumentError(`invalid service name "${service}": use letters, digits, _ . - (optionally #instance) or one of * ? .`);
  return { server, service };
}
