/**
 * Who a message is for, as the communicator writes it: `server:service/COMMAND`.
 *
 * - a broadcast service: `*` every hub, `?` the other hubs (remote only), `.` this hub only;
 * - a destination server that includes this hub: none, `*`, `.`, or its own name;
 * - a service instance: `name#instance` (`clock#2`); `name` alone is any instance.
 */

/** `*`, `?` or `.`: a broadcast to the services that listed the command in COMMANDS. */
export function isBroadcast(service: string): boolean {
  return service.length === 1 && (service === '*' || service === '?' || service === '.');
}

/** The destination server `server` includes the hub named `self` (none given, `*`, `.`, or `self`). */
export function isThisHub(server: string, self: string): boolean {
  return server === '' || server === '*' || server === '.' || server === self;
}

/** `clock#2` -> `clock`; `clock` -> `clock`. */
export function baseName(service: string): string {
  const hash = service.indexOf('#');
  return hash === -1 ? service : service.slice(0, hash);
}

/** `clock#2` -> `2`; `clock` -> undefined. */
export function instanceOf(service: string): string | undefined {
  const hash = service.indexOf('#');
  return hash === -1 ? undefined : service.slice(hash + 1);
}

/** `service` is `name` itself or one of its instances (`name#...`); no string is built. */
export function isServiceOrInstance(name: string, service: string): boolean {
  return service.startsWith(name) && (service.length === name.length || service.charCodeAt(name.length) === 35); /* # */
}

/** Two addresses of the same service, whatever their instances. */
export function sameService(a: string, b: string): boolean {
  return baseName(a) === baseName(b);
}
