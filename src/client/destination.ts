/** Turns a destination (`'service'`, `'server:service'`, an endpoint) into a full endpoint. */
import { isServerName, isServiceName } from '../core/codec/names.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { Endpoint } from '../core/message.js';
import type { Destination } from './types.js';

export function toEndpoint(to: Destination | undefined): Endpoint {
  if (to === undefined) return { server: '', service: '' };
  let server: string;
  let service: string;
  if (typeof to === 'string') {
    if (isServiceName(to)) return { server: '', service: to }; // the common case: a bare service name
    const colon = to.indexOf(':');
    server = colon >= 0 ? to.slice(0, colon) : '';
    service = colon >= 0 ? to.slice(colon + 1) : to;
  } else {
    server = to.server ?? '';
    service = to.service ?? '';
  }
  if (!isServerName(server))
    throw new InvalidArgumentError(
      `invalid server name "${server}": use letters, digits and _ (not starting with a digit), or one of * ? .`,
    );
  if (!isServiceName(service))
    throw new InvalidArgumentError(
      `invalid service name "${service}": use letters, digits and _ (not starting with a digit), optionally #instance, or one of * ? .`,
    );
  return { server, service };
}
