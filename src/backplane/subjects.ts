/**
 * The backplane's NATS subjects, all under the namespace `NS` (default `switchboard`):
 *
 *   NS.msg.HUB.SERVICE            a message for SERVICE (or `NAME#ID`) on hub HUB; `$all` = every
 *                                 interested service on HUB (`HUB:*` broadcasts)
 *   NS.bcast.COMMAND              a broadcast (`*` / `?`) to every hub
 *   NS.state.HUB                  HUB's full service table (on change, and to answer hello)
 *   NS.alive.HUB                  HUB's heartbeat: its epoch and state sequence
 *   NS.bye.HUB                    HUB stops
 *   NS.sync.HUB                   request: HUB answers with its state
 *   NS.hello                      a hub came up: everyone publishes its state
 *   NS.ctl.COMMAND                cluster-wide hub commands (SHUTDOWN)
 *   NS.cache.PIN.SERVICE.INST     JetStream: a message kept for SERVICE; PIN = a hub or `_` (any
 *                                 hub), INST = an instance id or `_` (any instance)
 *   NS.poke.PIN.SERVICE           a message was just kept for SERVICE (hubs that have it drain it)
 *
 * Hub, service, command and instance names are tokens already (letters, digits, `_`; see
 * src/core/codec/names.ts), so nothing needs escaping; `$all` and `_` cannot clash with a service
 * (no service name starts with `$`, and `_` alone marks "any" only in the PIN and INST places).
 */
export const ALL_SERVICES = '$all';
export const ANY = '_';

export class Subjects {
  readonly stream: string;

  constructor(readonly ns: string) {
    this.stream = `${ns}_cache`;
  }

  msg(hub: string, service: string): string {
    return `${this.ns}.msg.${hub}.${service === '*' || service === '?' ? ALL_SERVICES : service}`;
  }
  msgFor(hub: string): string {
    return `${this.ns}.msg.${hub}.*`;
  }
  bcast(command: string): string {
    return `${this.ns}.bcast.${command}`;
  }
  get bcastAll(): string {
    return `${this.ns}.bcast.*`;
  }
  state(hub: string): string {
    return `${this.ns}.state.${hub}`;
  }
  get stateAll(): string {
    return `${this.ns}.state.*`;
  }
  alive(hub: string): string {
    return `${this.ns}.alive.${hub}`;
  }
  get aliveAll(): string {
    return `${this.ns}.alive.*`;
  }
  bye(hub: string): string {
    return `${this.ns}.bye.${hub}`;
  }
  get byeAll(): string {
    return `${this.ns}.bye.*`;
  }
  sync(hub: string): string {
    return `${this.ns}.sync.${hub}`;
  }
  get hello(): string {
    return `${this.ns}.hello`;
  }
  ctl(command: string): string {
    return `${this.ns}.ctl.${command}`;
  }
  get ctlAll(): string {
    return `${this.ns}.ctl.*`;
  }
  cache(pin: string, service: string, instance: string): string {
    return `${this.ns}.cache.${pin}.${service}.${instance}`;
  }
  get cacheAll(): string {
    return `${this.ns}.cache.>`;
  }
  /** Every kept message of SERVICE, whatever its pin and instance. */
  cacheOf(service: string): string {
    return `${this.ns}.cache.*.${service}.*`;
  }
  poke(pin: string, service: string): string {
    return `${this.ns}.poke.${pin}.${service}`;
  }
  get pokeAll(): string {
    return `${this.ns}.poke.*.*`;
  }

  /** The last tokens of a subject under this namespace (`NS.msg.A.x` -> `['msg','A','x']`), or undefined. */
  tokens(subject: string): string[] | undefined {
    if (!subject.startsWith(`${this.ns}.`)) return undefined;
    return subject.slice(this.ns.length + 1).split('.');
  }
}
