/**
 * ServiceCatalog, the hub's registry: a catalog of services, each with its live instances (one
 * per registered connection), their COMMANDS, advertised endpoints and extra REGISTER parameters,
 * and since when they are up or down. Discovery reads it, LIST_SERVICES shows it, the mesh gossips its
 * names. Changes are published to listeners (STATUS, the mesh, discovery).
 */
import type { ChannelStats } from '../core/channel.js';
import type { Endpoint, JsonValue } from '../core/message.js';

/**
 * What the registry (and whoever reads it) knows of an instance's connection. The hub's own
 * connection class fills it; the catalog is generic over it so the hub's parts get their full
 * connection back while extensions (HubContext.services) see only this.
 */
export interface Registrant {
  readonly commands: ReadonlySet<string>;
  /** The listener it came in on (local, unix, secure, ws, signal, memory). */
  readonly kind: string;
  /** Messages the hub could not queue for it. */
  readonly dropped: number;
  readonly channel: {
    readonly transport: string;
    readonly remoteAddress: string;
    readonly stats: Readonly<ChannelStats>;
  };
}

/** A live instance as an extension sees it (read only). */
export interface InstanceRecord {
  /** `name#instance`. */
  readonly id: string;
  readonly name: string;
  readonly instance: string;
  /** Epoch ms. */
  readonly since: number;
  readonly endpoints: JsonValue | undefined;
  readonly params: Readonly<Record<string, JsonValue>>;
  readonly connection: Registrant;
}

/** A service (live or remembered) as an extension sees it (read only). */
export interface ServiceRecord {
  readonly name: string;
  readonly up: boolean;
  /** Epoch ms of the last up/down transition. */
  readonly upSince: number;
  readonly downSince: number;
  readonly instances: readonly InstanceRecord[];
}

export interface ServiceChange {
  type: 'up' | 'down';
  instance: InstanceRecord;
  service: ServiceRecord;
}

/** The hub's services, read only, and their changes (what HubContext offers extensions). */
export interface ServicesView {
  get(name: string): ServiceRecord | undefined;
  all(): Iterable<ServiceRecord>;
  /** Calls `listener` on every register and unregister; returns the remover. */
  onChange(listener: (change: ServiceChange) => void): () => void;
}

export class InstanceEntry<C extends Registrant = Registrant> {
  /** `name#instance`. */
  readonly id: string;
  private readonly plain: Endpoint;
  private readonly exact: Endpoint;

  constructor(
    readonly service: ServiceEntry<C>,
    readonly instance: string,
    /** Registered with `instance=`: always stamped `name#instance`. */
    readonly marked: boolean,
    readonly connection: C,
    /** Epoch ms. */
    readonly since: number,
    readonly endpoints: JsonValue | undefined,
    /** REGISTER parameters the hub does not interpret itself. */
    readonly params: Record<string, JsonValue>,
    serverName: string,
  ) {
    this.id = `${service.name}#${instance}`;
    this.plain = { server: serverName, service: service.name };
    this.exact = { server: serverName, service: this.id };
  }

  get name(): string {
    return this.service.name;
  }

  /** The sender block for this instance's messages (see PROTOCOL.md, "Sender stamping"). */
  stamp(): Endpoint {
    return this.marked || this.service.instances.length > 1 ? this.exact : this.plain;
  }

  /** The commands the catalog has this instance listed under (see `ServiceCatalog.understanding`). */
  indexedUnder: ReadonlySet<string> = new Set();
}

export class ServiceEntry<C extends Registrant = Registrant> {
  readonly instances: InstanceEntry<C>[] = [];
  /** Epoch ms of the last up/down transition. */
  upSince = 0;
  downSince = 0;
  private cursor = 0;
  private nextSeq = 1;

  constructor(readonly name: string) {}

  get up(): boolean {
    return this.instances.length > 0;
  }

  /** Round-robin over live instances. */
  pick(): InstanceEntry<C> | undefined {
    const list = this.instances;
    const n = list.length;
    if (n === 0) return undefined;
    if (n === 1) return list[0];
    if (this.cursor >= n) this.cursor = 0;
    return list[this.cursor++];
  }

  find(instance: string): InstanceEntry<C> | undefined {
    for (const inst of this.instances) if (inst.instance === instance) return inst;
    return undefined;
  }

  newInstanceId(): string {
    for (;;) {
      const id = String(this.nextSeq++);
      if (!this.find(id)) return id;
    }
  }
}

export type RegistryChange<C extends Registrant = Registrant> = {
  type: 'up' | 'down';
  instance: InstanceEntry<C>;
  service: ServiceEntry<C>;
};
export type RegistryListener<C extends Registrant = Registrant> = (change: RegistryChange<C>) => void;

export interface RegisterRequest {
  service: string;
  /** `undefined` = not marked; `true` = another instance, hub picks; a string = that id. */
  instance: string | true | undefined;
  endpoints: JsonValue | undefined;
  params: Record<string, JsonValue>;
}

/** Why a registration was refused, as a sentence for `INVALID message=`. */
export class RegisterRefused extends Error {}

export class ServiceCatalog<C extends Registrant = Registrant> implements ServicesView {
  private readonly services = new Map<string, ServiceEntry<C>>();
  private readonly listeners = new Set<RegistryListener<C>>();
  private readonly configured: ReadonlySet<string>;
  /**
   * Live instances by the commands their connection accepts: a broadcast (STATUS on every
   * register and unregister) visits those that take it, not every instance; with N services a
   * REGISTER storm was O(N^2).
   */
  private readonly byCommand = new Map<string, Set<InstanceEntry<C>>>();

  /**
   * `maxRemembered` bounds the names kept after their last instance left (clients registering
   * random names must not grow the hub forever); the longest-down unconfigured one is forgotten.
   */
  constructor(
    private readonly serverName: string,
    preKnown: Iterable<string> = [],
    private readonly maxRemembered = 10_000,
  ) {
    this.configured = new Set(preKnown);
    for (const name of this.configured) this.services.set(name, new ServiceEntry<C>(name));
  }

  get(name: string): ServiceEntry<C> | undefined {
    return this.services.get(name);
  }

  /** A service is known once it registered (or was configured): messages for it may be cached. */
  isKnown(name: string): boolean {
    return this.services.has(name);
  }

  all(): IterableIterator<ServiceEntry<C>> {
    return this.services.values();
  }

  /** Live instances of every service. */
  *liveInstances(): Generator<InstanceEntry<C>> {
    for (const s of this.services.values()) yield* s.instances;
  }

  /** Live instances whose connection accepts `command`, in the order they were listed. */
  understanding(command: string): Iterable<InstanceEntry<C>> {
    return this.byCommand.get(command) ?? [];
  }

  /** Lists a live instance under its connection's commands now (call after they change). */
  reindex(inst: InstanceEntry<C>): void {
    this.unindex(inst);
    const commands = new Set(inst.connection.commands);
    for (const command of commands) {
      let set = this.byCommand.get(command);
      if (!set) this.byCommand.set(command, (set = new Set()));
      set.add(inst);
    }
    inst.indexedUnder = commands;
  }

  private unindex(inst: InstanceEntry<C>): void {
    for (const command of inst.indexedUnder) {
      const set = this.byCommand.get(command);
      set?.delete(inst);
      if (set?.size === 0) this.byCommand.delete(command);
    }
    inst.indexedUnder = new Set();
  }

  onChange(listener: RegistryListener<C>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  register(connection: C, req: RegisterRequest, now = Date.now()): InstanceEntry<C> {
    let entry = this.services.get(req.service);
    if (entry && entry.instances.length > 0 && req.instance === undefined) {
      const first = entry.instances[0]!;
      throw new RegisterRefused(
        `service "${req.service}" is already registered (instance ${first.instance} from ${first.connection.channel.remoteAddress}); add instance=true to register another instance`,
      );
    }
    if (entry && typeof req.instance === 'string' && entry.find(req.instance)) {
      throw new RegisterRefused(
        `instance "${req.service}#${req.instance}" is already registered; pick another instance id or use instance=true`,
      );
    }
    if (!entry) {
      entry = new ServiceEntry<C>(req.service);
      this.services.set(req.service, entry);
    }
    const id = typeof req.instance === 'string' ? req.instance : entry.newInstanceId();
    const inst = new InstanceEntry(
      entry,
      id,
      req.instance !== undefined,
      connection,
      now,
      req.endpoints,
      req.params,
      this.serverName,
    );
    if (entry.instances.length === 0) entry.upSince = now;
    entry.instances.push(inst);
    this.reindex(inst);
    this.emit({ type: 'up', instance: inst, service: entry });
    return inst;
  }

  /** Removes a live instance; false when it was not registered. */
  unregister(inst: InstanceEntry<C>, now = Date.now()): boolean {
    const entry = inst.service;
    const i = entry.instances.indexOf(inst);
    if (i === -1) return false;
    entry.instances.splice(i, 1);
    this.unindex(inst);
    if (entry.instances.length === 0) entry.downSince = now;
    this.emit({ type: 'down', instance: inst, service: entry });
    if (this.services.size > this.maxRemembered) this.forgetOldestDown();
    return true;
  }

  private forgetOldestDown(): void {
    let oldest: ServiceEntry<C> | undefined;
    for (const s of this.services.values()) {
      if (s.up || this.configured.has(s.name)) continue;
      if (!oldest || s.downSince < oldest.downSince) oldest = s;
    }
    if (oldest) this.services.delete(oldest.name);
  }

  private emit(change: RegistryChange<C>): void {
    for (const l of this.listeners) l(change);
  }
}

/** Parses the `instance` parameter of REGISTER: absent, `true`, or an id `[A-Za-z0-9_]+`. */
export function parseInstanceParam(value: JsonValue | undefined): string | true | undefined {
  if (value === undefined || value === null || value === '' || value === false || value === 'false') return undefined;
  if (value === true || value === 'true') return true;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(text)) return text;
  throw new RegisterRefused(
    'instance must be true or an id of letters, digits and _ (at most 64), e.g. instance=worker_2',
  );
}
