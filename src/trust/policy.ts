/**
 * Who may do what, decided once per connection (at accept, AUTH or REGISTER) and kept on it as a
 * Grant: the per-message checks are a flag (`all`) or one cached map lookup, never a pattern match.
 *
 * An identity is proven by a token (REGISTER's `password`, `AUTH token=`, the dashboard's Bearer),
 * a client certificate's subject (TLS), or where the connection comes from (the Unix socket's
 * file permissions, loopback, the network, a UDP datagram carrying the signal secret). Each
 * identity has a role and may add permissions of its own: service names it may register
 * (patterns), whether it may add instances, services it may send to, commands it may broadcast,
 * hub commands it may use. The tables of defaults are in SECURITY.md.
 */
import { createHash, randomBytes } from 'node:crypto';

/** `roles`: identities and roles decide; `full`: every local connection may do anything (communicatord's way). */
export type TrustMode = 'roles' | 'full';

/** What a permission list can grant. `*` in a pattern matches any run of name characters. */
export interface PermissionSpec {
  /** Service names it may register. `*` never matches a reserved (built-in) name: name those exactly. */
  register?: readonly string[];
  /** May add an instance (`instance=`) to a service it registers; only under the identity of the live instances. */
  instances?: boolean;
  /** Services it may send to (`name` or `name#instance`); reserved names only when named exactly. */
  send?: readonly string[];
  /** Commands it may broadcast (to the services `*`, `?` or `.`). */
  broadcast?: readonly string[];
  /** Hub commands it may use; `*` covers all but STOP, SHUTDOWN, FORGET and SNIFF, which are named exactly. */
  commands?: readonly string[];
}

export interface RoleSpec extends PermissionSpec {
  /** Everything, reserved names and every hub command included. */
  all?: boolean;
}

export interface IdentitySpec extends PermissionSpec {
  /** The role it starts from (default `none`); its own lists add to the role's. */
  role?: string;
  /** SHA-256 (hex) of each token that proves it. */
  tokenDigests: readonly string[];
  /** TLS client certificate subject that proves it (`CN=web` or the whole subject `CN=web,O=acme`). */
  subject?: string;
}

/** How a connection that shows no credential is treated, by where it comes from. */
export interface AnonymousRoles {
  /** Loopback TCP or WebSocket, and UDP from loopback. */
  local: string;
  /** The Unix socket: whoever its file mode lets in. */
  unix: string;
  /** TLS or WebSocket from another machine, without a known certificate. */
  network: string;
  /** A UDP datagram carrying the right `secret_code`. */
  signal: string;
}

export interface TrustSpec {
  mode: TrustMode;
  /** Custom roles, and replacements for the built-in `local` / `none` (never `admin`). */
  roles: Readonly<Record<string, RoleSpec>>;
  identities: Readonly<Record<string, IdentitySpec>>;
  anonymous: AnonymousRoles;
}

/** Hub commands that `*` does not cover: each must be named to be granted. */
export const PRIVILEGED_COMMANDS: ReadonlySet<string> = new Set(['STOP', 'SHUTDOWN', 'FORGET', 'SNIFF']);

/** Hub commands every connection may use: they only concern the connection itself. */
export const ALWAYS_ALLOWED_COMMANDS: ReadonlySet<string> = new Set([
  'AUTH',
  'REGISTER', // checked against `register` instead
  'UNREGISTER',
  'COMMANDS',
  'HELP',
  'ALIVE',
  'UNSNIFF',
]);

export const BUILTIN_ROLES: Readonly<Record<string, RoleSpec>> = {
  admin: { all: true },
  /** Unauthenticated local connections: ordinary names and messages, no hub control, no tap. */
  local: {
    register: ['*'],
    instances: true,
    // The dispatcher checks its agents' tokens itself; the other built-ins are for the owner.
    send: ['*', 'dispatcher'],
    broadcast: ['*'],
    commands: ['*'],
  },
  none: {},
};

/**
 * The hub's built-in services' names. Only the hub's in-process services, the admin and identities
 * whose `register` list names one exactly may register them, so no local process can become
 * `sync#2` and take half of its requests.
 */
export const RESERVED_SERVICES: readonly string[] = ['sync', 'dispatcher', 'discovery', 'dashboard'];

export const DEFAULT_ANONYMOUS: AnonymousRoles = { local: 'local', unix: 'admin', network: 'local', signal: 'admin' };

export function defaultTrustSpec(): TrustSpec {
  return { mode: 'roles', roles: {}, identities: {}, anonymous: { ...DEFAULT_ANONYMOUS } };
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Why something was refused: the rule (for INVALID's `rule=` and the metrics label) and a sentence. */
export interface Refusal {
  /** `commands`, `register`, `reserved`, `instances`, `send`, `broadcast`, `auth`. */
  reason: RefusalReason;
  /** The configuration rule that did not grant it, e.g. `roles.local.commands`. */
  rule: string;
  message: string;
}

export type RefusalReason =
  | 'commands'
  | 'register'
  | 'reserved'
  | 'instances'
  | 'send'
  | 'broadcast'
  | 'auth'
  | 'http'
  | 'origin'
  | 'signal'
  | 'dashboard'
  | 'cluster';

/** A compiled pattern list: exact names in a set, the rest as one regular expression. */
class Patterns {
  private readonly exact = new Set<string>();
  private readonly wild: RegExp | undefined;
  readonly any: boolean;

  constructor(list: readonly string[]) {
    const wild: string[] = [];
    let any = false;
    for (const p of list) {
      if (p === '*') any = true;
      else if (p.includes('*')) wild.push(p.split('*').map(escapeRegExp).join('[A-Za-z0-9_]*'));
      else this.exact.add(p);
    }
    this.any = any;
    this.wild = wild.length ? new RegExp(`^(?:${wild.join('|')})$`) : undefined;
  }

  /** Named exactly (what a reserved name or a privileged command needs). */
  names(name: string): boolean {
    return this.exact.has(name);
  }

  matches(name: string): boolean {
    return this.any || this.exact.has(name) || (this.wild !== undefined && this.wild.test(name));
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Answers to one name kept per grant (a connection's sends hit it, not the patterns); bounded. */
class Answers {
  private readonly map = new Map<string, boolean>();
  constructor(private readonly decide: (name: string) => boolean) {}
  get(name: string): boolean {
    let v = this.map.get(name);
    if (v === undefined) {
      v = this.decide(name);
      if (this.map.size >= 4096) this.map.clear();
      this.map.set(name, v);
    }
    return v;
  }
}

/** How the connection proved who it is. */
export type Proof = 'token' | 'certificate' | 'unix' | 'loopback' | 'network' | 'signal' | 'internal' | 'trust-all';

/** What one identity may do, compiled. Shared by every connection of that identity. */
export class Grant {
  readonly all: boolean;
  private readonly register: Patterns;
  private readonly send: Patterns;
  private readonly broadcastCommands: Patterns;
  private readonly hubCommands: Patterns;
  private readonly mayAddInstances: boolean;
  private readonly sendAnswers: Answers;
  private readonly broadcastAnswers: Answers;
  private readonly commandAnswers: Answers;

  constructor(
    /** The identity's name (`admin`, `local`, a configured name, `hub` for in-process services). */
    readonly identity: string,
    readonly role: string,
    readonly proof: Proof,
    spec: RoleSpec,
    private readonly reserved: ReadonlySet<string>,
    /** Where the lists came from, for the rule a refusal names (`roles.local`, `identities.web`). */
    private readonly origin: string,
  ) {
    this.all = spec.all === true;
    this.register = new Patterns(spec.register ?? []);
    this.send = new Patterns(spec.send ?? []);
    this.broadcastCommands = new Patterns(spec.broadcast ?? []);
    this.hubCommands = new Patterns(spec.commands ?? []);
    this.mayAddInstances = this.all || spec.instances === true;
    this.sendAnswers = new Answers((service) => {
      const hash = service.indexOf('#');
      const name = hash === -1 ? service : service.slice(0, hash);
      return this.reserved.has(name) ? this.send.names(name) : this.send.matches(name);
    });
    this.broadcastAnswers = new Answers((command) => this.broadcastCommands.matches(command));
    this.commandAnswers = new Answers((command) =>
      ALWAYS_ALLOWED_COMMANDS.has(command)
        ? true
        : PRIVILEGED_COMMANDS.has(command)
          ? this.hubCommands.names(command)
          : this.hubCommands.matches(command),
    );
  }

  /** `admin (token)`, `local (unauthenticated loopback connection)`: for sentences and logs. */
  get who(): string {
    const how: Record<Proof, string> = {
      token: 'token',
      certificate: 'client certificate',
      unix: 'Unix socket',
      loopback: 'unauthenticated loopback connection',
      network: 'unauthenticated network connection',
      signal: 'signal secret',
      internal: "the hub's in-process services",
      'trust-all': 'local_trust=full',
    };
    return `identity "${this.identity}" (${how[this.proof]}, role ${this.role})`;
  }

  /** May send to `service` (`name` or `name#instance`). One map lookup after the first time. */
  maySend(service: string): boolean {
    return this.all || this.sendAnswers.get(service);
  }

  mayBroadcast(command: string): boolean {
    return this.all || this.broadcastAnswers.get(command);
  }

  mayUse(command: string): boolean {
    return this.all || this.commandAnswers.get(command);
  }

  /** Whether it may register `name`; undefined = yes, else why not. */
  registerProblem(name: string): Refusal | undefined {
    if (this.all) return undefined;
    if (this.reserved.has(name)) {
      if (this.register.names(name)) return undefined;
      return {
        reason: 'reserved',
        rule: 'reserved',
        message: `service name "${name}" is reserved for the hub's built-in service; ${this.who} may not register it (only the hub's in-process services, the admin, and identities whose register list names "${name}" exactly)`,
      };
    }
    if (this.register.matches(name)) return undefined;
    return {
      reason: 'register',
      rule: `${this.origin}.register`,
      message: `${this.who} may not register "${name}": no pattern of ${this.origin}.register matches it`,
    };
  }

  /**
   * Whether it may add an instance to a service whose live instances belong to `holder`
   * (undefined when the service has none).
   */
  instanceProblem(service: string, holder: string | undefined): Refusal | undefined {
    if (this.all) return undefined;
    if (!this.mayAddInstances)
      return {
        reason: 'instances',
        rule: `${this.origin}.instances`,
        message: `${this.who} may not add instances (${this.origin}.instances is not true)`,
      };
    if (holder !== undefined && holder !== this.identity)
      return {
        reason: 'instances',
        rule: 'instances',
        message: `service "${service}" is registered by identity "${holder}"; another instance joins it only under that identity, and this connection is ${this.who}`,
      };
    return undefined;
  }

  sendRefusal(service: string): Refusal {
    const hash = service.indexOf('#');
    const name = hash === -1 ? service : service.slice(0, hash);
    const reserved = this.reserved.has(name);
    return {
      reason: 'send',
      rule: `${this.origin}.send`,
      message: reserved
        ? `${this.who} may not send to "${name}", a built-in service: ${this.origin}.send must name it exactly`
        : `${this.who} may not send to "${name}": no pattern of ${this.origin}.send matches it`,
    };
  }

  broadcastRefusal(command: string): Refusal {
    return {
      reason: 'broadcast',
      rule: `${this.origin}.broadcast`,
      message: `${this.who} may not broadcast ${command}: no pattern of ${this.origin}.broadcast matches it`,
    };
  }

  commandRefusal(command: string): Refusal {
    const privileged = PRIVILEGED_COMMANDS.has(command);
    return {
      reason: 'commands',
      rule: `${this.origin}.commands`,
      message:
        `${this.who} may not use ${command}: ${this.origin}.commands does not ${privileged ? 'name' : 'grant'} it` +
        (this.proof === 'loopback' || this.proof === 'network' || this.proof === 'unix'
          ? `; authenticate first (AUTH token=..., or REGISTER with password=...): the admin token is in $SWITCHBOARD_HOME/hub.token`
          : ''),
    };
  }
}

/** One configured identity, compiled. */
interface KnownIdentity {
  name: string;
  grant: (proof: Proof) => Grant;
}

/**
 * The decisions: which identity a token, a certificate or a connection's origin stands for, and
 * its Grant. Built once from the configuration (and the admin token) when the hub starts.
 */
export class TrustPolicy {
  readonly mode: TrustMode;
  private readonly byDigest = new Map<string, KnownIdentity>();
  private readonly bySubject = new Map<string, KnownIdentity>();
  private readonly grants = new Map<string, Grant>();
  private readonly roles: Record<string, RoleSpec>;

  constructor(
    readonly spec: TrustSpec,
    /** Names of the hub's built-in services. */
    readonly reserved: ReadonlySet<string>,
    /** Digests of the admin token(s) (hub.token). */
    adminDigests: readonly string[] = [],
  ) {
    this.mode = spec.mode;
    this.roles = { ...BUILTIN_ROLES, ...spec.roles, admin: BUILTIN_ROLES.admin! };
    for (const d of adminDigests) this.byDigest.set(d, this.adminIdentity);
    for (const [name, id] of Object.entries(spec.identities)) {
      const role = id.role ?? 'none';
      const own: PermissionSpec = {
        ...(id.register ? { register: id.register } : {}),
        ...(id.instances !== undefined ? { instances: id.instances } : {}),
        ...(id.send ? { send: id.send } : {}),
        ...(id.broadcast ? { broadcast: id.broadcast } : {}),
        ...(id.commands ? { commands: id.commands } : {}),
      };
      const known: KnownIdentity = { name, grant: (proof) => this.grantFor(name, role, proof, own) };
      for (const d of id.tokenDigests) this.byDigest.set(d, known);
      this.bySubject.set(normaliseSubject(id.subject ?? `CN=${name}`), known);
    }
  }

  private readonly adminIdentity: KnownIdentity = {
    name: 'admin',
    grant: (proof) => this.grantFor('admin', 'admin', proof, {}),
  };

  /** Accepts `token` as the admin's from now on (the hub's token file, the dashboard's --http-token). */
  addAdminToken(token: string): void {
    this.byDigest.set(tokenDigest(token), this.adminIdentity);
  }

  private readonly hubIdentity: KnownIdentity = {
    name: 'hub',
    grant: () => this.grantFor('hub', 'admin', 'internal', {}),
  };

  /**
   * A new token that proves the hub's own in-process services (they may register the reserved
   * names): for a built-in service that reaches its hub over a listener. It lives in memory only.
   */
  issueServiceToken(): string {
    const token = `sbs_${randomBytes(32).toString('base64url')}`;
    this.byDigest.set(tokenDigest(token), this.hubIdentity);
    return token;
  }

  /** Whether a role of that name exists (built-in or configured). */
  hasRole(name: string): boolean {
    return name in this.roles;
  }

  /** The grant a token proves, or undefined when it matches no identity. */
  byToken(token: string): Grant | undefined {
    return this.byDigest.get(tokenDigest(token))?.grant('token');
  }

  /**
   * The grant of identity `name` when one of its token digests passes `test` (a cluster command's
   * proof, keyed with the digest: hubs configured alike know the digests, never the tokens).
   */
  verifyMac(name: string, test: (digest: string) => boolean): Grant | undefined {
    for (const [digest, known] of this.byDigest)
      if (known.name === name && known !== this.hubIdentity && test(digest)) return known.grant('token');
    return undefined;
  }

  /** The grant a verified client certificate proves (its subject, e.g. `CN=web,O=acme`). */
  byCertificate(subject: string): Grant | undefined {
    const s = normaliseSubject(subject);
    const exact = this.bySubject.get(s);
    if (exact) return exact.grant('certificate');
    const cn = /(?:^|,)CN=([^,]*)/.exec(s)?.[1];
    return cn === undefined ? undefined : this.bySubject.get(`CN=${cn}`)?.grant('certificate');
  }

  /** A connection that has shown no credential, by where it comes from. */
  anonymous(origin: 'loopback' | 'unix' | 'network' | 'signal' | 'internal'): Grant {
    if (origin === 'internal') return this.grantFor('hub', 'admin', 'internal', {});
    if (this.mode === 'full' && origin !== 'network') return this.grantFor(origin, 'admin', 'trust-all', {});
    const a = this.spec.anonymous;
    const role =
      origin === 'loopback' ? a.local : origin === 'unix' ? a.unix : origin === 'signal' ? a.signal : a.network;
    const name = origin === 'loopback' ? 'local' : origin;
    return this.grantFor(name, role, origin, {});
  }

  private grantFor(identity: string, role: string, proof: Proof, own: PermissionSpec): Grant {
    const key = `${identity}\u0000${role}\u0000${proof}`;
    let g = this.grants.get(key);
    if (g) return g;
    const base = this.roles[role] ?? {};
    const hasOwn = Object.keys(own).length > 0;
    const merged: RoleSpec = {
      all: base.all === true,
      register: [...(base.register ?? []), ...(own.register ?? [])],
      instances: own.instances ?? base.instances,
      send: [...(base.send ?? []), ...(own.send ?? [])],
      broadcast: [...(base.broadcast ?? []), ...(own.broadcast ?? [])],
      commands: [...(base.commands ?? []), ...(own.commands ?? [])],
    };
    const origin = hasOwn && identity in this.spec.identities ? `identities.${identity}` : `roles.${role}`;
    g = new Grant(identity, role, proof, merged, this.reserved, origin);
    this.grants.set(key, g);
    return g;
  }
}

/** `CN = web, O=acme` -> `CN=web,O=acme`. */
export function normaliseSubject(subject: string): string {
  return subject
    .split(/[,\n/]/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1 ? part : `${part.slice(0, eq).trim().toUpperCase()}=${part.slice(eq + 1).trim()}`;
    })
    .join(',');
}

/** Loopback peers: `127.x.x.x:port`, `[::1]:port`, `::ffff:127.x` (IPv4-mapped). */
export function isLoopbackAddress(remote: string): boolean {
  let host = remote;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.lastIndexOf(':'));
  if (host.startsWith('::ffff:')) host = host.slice(7);
  return host === '::1' || host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
