/**
 * The hub's configuration: the communicator's keys (`server_name`, `local_listen`, ...), from
 * defaults < a file (`--config`, then its `.d/*.conf` overrides) < `SWITCHBOARD_*` environment
 * variables < command-line flags. Values are taken in the communicator's forms too (bare
 * `127.0.0.1:4040`, a socket path, `3600` or `1h`). Validated with zod; an error names the key
 * and where the bad value came from. Where the hub does a key's job differently from the
 * communicator, `notes` says so once (the hub logs them at start).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import {
  parseAddress,
  withScheme,
  DEFAULT_LOCAL,
  DEFAULT_SIGNAL,
  type AddressScheme,
  type ChannelAddress,
} from '../core/address.js';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import { isServerName } from '../core/codec/index.js';
import { normaliseKey, readConfigLayers, type RawConfig } from './config-file.js';
import { foldDottedKeys, parseTrustConfig } from '../trust/config.js';
import { switchboardHome } from '../trust/home.js';
import { readSecretFile } from '../trust/secrets.js';
import type { TrustSpec } from '../trust/policy.js';

/** Every key the hub understands, in `--help` order. */
export const CONFIG_KEYS = [
  'server_name',
  'my_address',
  'local_listen',
  'unix_listen',
  'unix_group',
  'secure_listen',
  'certificate',
  'private_key',
  'client_ca',
  'signal',
  'signal_secret',
  'ws_listen',
  'remote_listen',
  'neighbors',
  'max_gossip_timeout',
  'max_connections',
  'max_names_per_connection',
  'max_pending_connections',
  'data_path',
  'services',
  'max_queued_bytes',
  'max_cache_bytes',
  'max_service_cache_bytes',
  'max_line_length',
  'slow_consumer_timeout',
  'first_message_timeout',
  'debug_all_messages',
  'cluster_name',
  'discovery',
  'local_trust',
  'token_file',
  'identities',
  'roles',
  'local_role',
  'unix_role',
  'network_role',
  'signal_role',
  'unix_group',
  'ws_origins',
  'signal_secret_file',
  'backplane',
  'backplane_namespace',
  'backplane_replicas',
  'backplane_credentials',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export interface HubConfig {
  /** Lower case, `-` -> `_`, the part before the first `.` (the communicator's rule). */
  serverName: string;
  /** The IP other hubs reach this one at (announced by the mesh and in LOADAVG); null = the remote listener's. */
  myAddress: string | null;
  /** Loopback TCP for local services (`null` = off). */
  localListen: string | null;
  unixListen: string | null;
  secureListen: string | null;
  certificate: string | null;
  privateKey: string | null;
  /** CA (PEM file) whose certificates clients of `secureListen` must present (mutual TLS); null = any client. */
  clientCa: string | null;
  /** UDP signals (`null` = off). */
  signal: string | null;
  signalSecret: string | null;
  /** WebSocket for browser and ws clients (`null` = off). */
  wsListen: string | null;
  /** Hub-to-hub listener; used by the mesh extension. */
  remoteListen: string | null;
  neighbors: string[];
  /** Longest wait between two GOSSIP attempts (ms); null = the mesh's default (1 h). */
  maxGossipTimeoutMs: number | null;
  maxConnections: number;
  /** New service names one connection may add to the registry (every name is remembered). */
  maxNamesPerConnection: number;
  /** Listen backlog of the stream listeners; null = the system's default. */
  maxPendingConnections: number | null;
  dataPath: string;
  /** Services known to this hub before they ever register (their messages are cached). */
  services: string[];
  maxQueuedBytes: number;
  /** Bytes of messages the cache holds for services that are not connected, in all / per service. */
  maxCacheBytes: number;
  maxServiceCacheBytes: number;
  maxLineLength: number;
  /** A connection whose outbound queue keeps dropping for this long (ms) is closed. */
  slowConsumerTimeoutMs: number;
  /** A stream connection that sends no valid message this long (ms) after connecting is closed; 0 = never. */
  firstMessageTimeoutMs: number;
  /** Log every message the hub routes (the communicator's `debug_all_messages`). */
  debugAllMessages: boolean;
  /** The cluster this hub belongs to (discovery: kind `service` stays inside it; `expose` is published as kind `cluster`). */
  clusterName: string | null;
  /**
   * Discovery's section (exposed endpoints, request policies pushed to clients): as its capability's
   * parser returned it when loadConfig was given one (`sections`), else the JSON value as given.
   */
  discovery: unknown;
  /** Identities, roles and how unauthenticated connections are treated (src/trust, SECURITY.md). */
  trust: TrustSpec;
  /** The admin token's file (written 0600 at start when absent); null = no admin token. */
  tokenFile: string | null;
  /** Group that may use the Unix socket (mode 0660 instead of 0600). */
  unixGroup: string | null;
  /** `unixGroup` as a gid, the socket file's group. */
  unixGroupId: number | null;
  /** Origins (`https://app.example.com`) whose pages may open the WebSocket listener, beside same-origin loopback pages. */
  wsOrigins: string[];
  /** NATS servers of the backplane (`nats://host:port`, `tls://...`); empty = no backplane. Used by src/backplane. */
  backplane: string[];
  /** Subject prefix and JetStream names of the backplane: hubs share a namespace when they share this. */
  backplaneNamespace: string;
  /** Replicas of the backplane's JetStream cache stream; `auto` = as many servers as the NATS cluster has, at most 3. */
  backplaneReplicas: number | 'auto';
  /** File with the backplane's NATS credentials (a .creds file, or JSON {"user","password"} / {"token"}). */
  backplaneCredentials: string | null;
  /** Where a key does something other than in the communicator (logged once at start). */
  notes: string[];
}

/** `cds://user:secret@host:port` (or `user:secret@host:port`) -> `cds://user:***@host:port`: addresses are printed and logged. */
export function redactPassword(url: string): string {
  return url.replace(/^((?:[a-z]+:\/\/)?[^:@/]*):[^@/]*@/, '$1:***@');
}

/** `off`, `none`, `no` or an empty value turn a listener off. */
const OFF = new Set(['', 'off', 'none', 'no', 'false']);

/**
 * The communicator's server name rule: case does not matter (kept in lower case), `-` becomes
 * `_` and only the part before the first `.` counts (`Web-1.example.com` -> `web_1`).
 */
export function normaliseServerName(raw: string): string {
  return raw.trim().split('.')[0]!.replaceAll('-', '_').toLowerCase();
}

function defaultServerName(): string {
  let name = normaliseServerName(hostname()).replace(/[^a-z0-9_]/g, '_');
  if (name === '' || /^[0-9]/.test(name)) name = `_${name}`;
  return name;
}

const listOf = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(/[,\s]+/)).map((s) => s.trim()).filter((s) => s !== ''));

/** A listener address: a URL, or the communicator's bare form (`127.0.0.1:4040`, a socket path) for `scheme`. */
function optionalUrl(scheme: AddressScheme, check?: (a: ChannelAddress) => string | undefined) {
  return z.string().transform((raw, ctx) => {
    if (OFF.has(raw.trim().toLowerCase())) return null;
    const v = withScheme(raw, scheme);
    try {
      const addr = parseAddress(v);
      const problem = check?.(addr);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: redactPassword(
          errorMessage(err).replace(/^address "([^"]*)"/, (_m, u: string) => `address "${redactPassword(u)}"`),
        ),
      });
    }
    return v;
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** A registrable service name: no broadcast names, no `#instance`. */
export const SERVICE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Issues {
  addIssue(issue: { code: 'custom'; message: string }): void;
}

/** The communicator's form: a directory whose `NAME.service` files name the known services. */
function servicesDirectory(dir: string, ctx: Issues, notes: string[]): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.service'))
      .map((f) => f.slice(0, -'.service'.length))
      .filter((n) => SERVICE_NAME.test(n));
  } catch (err) {
    // The communicator logs a missing folder and carries on; so does the hub (nothing is known in advance).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      notes.push(
        `services: the folder ${dir} does not exist, so no service is known before it registers (messages for it are not cached until then)`,
      );
      return [];
    }
    ctx.addIssue({ code: 'custom', message: `directory ${dir} cannot be read: ${errorMessage(err)}` });
    return [];
  }
}

/** A group name or number -> its gid (getent covers NSS/LDAP groups; /etc/group when getent is missing). */
export function groupId(group: string): number | undefined {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const gid = Number(line.split(':')[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    // not found, or no getent: try the file
  }
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === group && /^\d+$/.test(f[2] ?? '')) return Number(f[2]);
    }
  } catch {
    // no /etc/group
  }
  return undefined;
}

const DURATION_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  week: 604800,
  weeks: 604800,
};

/** `3600`, `1h`, `90m`, `1h 30m`, `2.5 hours` -> seconds (a bare number is seconds); undefined when unreadable. */
export function parseDurationSeconds(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === '' || t.length > 100) return undefined;
  const part = /(\d+(?:\.\d+)?)\s*([a-z]*)\s*/y;
  let total = 0;
  while (part.lastIndex < t.length) {
    const m = part.exec(t);
    if (!m) return undefined;
    const unit = m[2] === '' ? 1 : DURATION_UNITS[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return total;
}

/** The IPs of this machine's interfaces. */
function localIps(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => a !== undefined);
}

/** `10.0.2.33`, `10.0.2.33:4042`, `[fd00::1]:4042`, `fd00::1` -> the IP; undefined when not an IP address. */
function ipOf(value: string): string | undefined {
  const v = value.trim();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracket) return isIP(bracket[1]!) === 6 ? bracket[1] : undefined;
  if (isIP(v) !== 0) return v;
  const withPort = /^([^:]+):\d+$/.exec(v);
  return withPort && isIP(withPort[1]!) === 4 ? withPort[1] : undefined;
}

const intIn = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/** `nats://h1:4222,h2:4222`: NATS server URLs, never with credentials in them (they would show in `ps`). */
const backplaneUrls = listOf.transform((urls, ctx) => {
  if (urls.length === 1 && OFF.has(urls[0]!.toLowerCase())) return [];
  for (const raw of urls) {
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'nats:' && url.protocol !== 'tls:') || url.hostname === '') {
      ctx.addIssue({
        code: 'custom',
        message: `must be NATS server URLs such as nats://10.0.0.5:4222 or tls://nats.example:4222, comma separated (${raw.includes('@') ? 'one value' : JSON.stringify(raw)} is not one)`,
      });
    } else if (url.username !== '' || url.password !== '') {
      ctx.addIssue({
        code: 'custom',
        message:
          'must not carry credentials (anyone on the machine can read a command line): put them in a file named by backplane_credentials, or in SWITCHBOARD_BACKPLANE_USER/_PASSWORD or SWITCHBOARD_BACKPLANE_TOKEN',
      });
    } else if (url.pathname !== '' && url.pathname !== '/') {
      ctx.addIssue({ code: 'custom', message: `takes host:port only, no path (got ${JSON.stringify(url.pathname)})` });
    }
  }
  return urls;
});

/** Parsed on/off values; the communicator turns `debug_all_messages` on by its mere presence. */
const OFF_WORDS = new Set(['off', 'false', 'no', '0']);

/** A capability's section when no parser was given: JSON text is parsed, a value kept, '' is {}. */
const jsonSection = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  if (v.trim() === '') return {};
  try {
    return JSON.parse(v) as unknown;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not JSON (${errorMessage(err)})` });
    return z.NEVER;
  }
});

/** A cluster's name: letters, digits, _ . - (the form of discovery's peer names). */
const CLUSTER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const makeSchema = (notes: string[], sections: ConfigSections) =>
  z.object({
    server_name: z
      .string()
      .transform(normaliseServerName)
      .refine(
        (s) => s !== '' && isServerName(s) && !['*', '?', '.'].includes(s),
        'must be letters, digits and _ (a "-" becomes "_", the part after a "." is dropped), not starting with a digit (e.g. "web1")',
      ),
    my_address: z
      .string()
      .nullable()
      .transform((v, ctx) => {
        if (v === null || v.trim() === '') return null;
        const ip = ipOf(v);
        if (ip === undefined) {
          ctx.addIssue({ code: 'custom', message: 'must be an IP address of this machine, e.g. 10.0.2.33' });
          return null;
        }
        if (ip === '0.0.0.0' || ip === '::') {
          ctx.addIssue({ code: 'custom', message: 'must be one address other hubs can reach, not 0.0.0.0' });
          return null;
        }
        if (!localIps().includes(ip))
          ctx.addIssue({
            code: 'custom',
            message: `is not an address of this machine (it has ${localIps().join(', ')}): did you copy the configuration file from another machine and forget to change it?`,
          });
        return ip;
      }),
    local_listen: optionalUrl('cd', (a) =>
      a.transport !== 'tcp'
        ? 'must be a cd://host:port TCP address (use --unix-listen for a socket)'
        : !isLoopback(a.host)
          ? `must be a loopback address such as 127.0.0.1 (got ${a.host}); other hosts use --remote-listen or --secure-listen`
          : undefined,
    ),
    unix_listen: optionalUrl('cd', (a) =>
      a.transport !== 'unix'
        ? 'must be a Unix socket path such as /run/switchboard.sock (or cd:///run/switchboard.sock)'
        : undefined,
    ),
    secure_listen: optionalUrl('cds', (a) =>
      a.transport !== 'tls' ? 'must be a cds://host:port TLS address' : undefined,
    ),
    certificate: z.string().nullable(),
    private_key: z.string().nullable(),
    client_ca: z.string().nullable(),
    signal: optionalUrl('cdu', (a) =>
      a.transport !== 'udp' ? 'must be a cdu://host:port UDP address (or host:port)' : undefined,
    ),
    signal_secret: z.string().nullable(),
    ws_listen: optionalUrl('ws', (a) => (a.transport !== 'ws' ? 'must be a ws://host:port/path address' : undefined)),
    remote_listen: optionalUrl('cd', (a) => {
      if (a.transport !== 'tcp' && a.transport !== 'tls') return 'must be a cd://ip:port (or cds://) address';
      if (isLoopback(a.host))
        notes.push(
          `remote_listen ${a.host}:${a.port} is a loopback address: the communicator ignores such a remote_listen, this hub links with hubs on this machine through it`,
        );
      return undefined;
    }),
    neighbors: listOf,
    max_gossip_timeout: z
      .union([z.string(), z.number()])
      .nullable()
      .transform((v, ctx) => {
        if (v === null || (typeof v === 'string' && v.trim() === '')) return null;
        const seconds = typeof v === 'number' ? v : parseDurationSeconds(v);
        if (seconds === undefined || !Number.isFinite(seconds)) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a duration: seconds (3600) or with a unit (1h, 30m, 1h 30m)',
          });
          return null;
        }
        if (seconds < 1 || seconds > 24 * 86400) {
          ctx.addIssue({ code: 'custom', message: 'must be between 1 second and 24 days' });
          return null;
        }
        return Math.round(seconds * 1000);
      }),
    max_connections: intIn(5, 10000),
    max_names_per_connection: intIn(1, 1_000_000),
    max_pending_connections: z
      .union([z.string(), z.number()])
      .nullable()
      .transform((v, ctx) => {
        if (v === null || (typeof v === 'string' && v.trim() === '')) return null;
        const n = Number(v);
        if (!Number.isInteger(n)) {
          ctx.addIssue({ code: 'custom', message: 'must be a whole number, 5..1000' });
          return null;
        }
        // As in the communicator: clamped, not refused.
        const clamped = Math.min(1000, Math.max(5, n));
        if (clamped !== n) notes.push(`max_pending_connections ${n} is clamped to ${clamped} (5..1000)`);
        return clamped;
      }),
    data_path: z
      .string()
      .trim()
      .min(1, 'must be a directory path')
      .refine((p) => isAbsolute(p), 'must be an absolute directory path'),
    services: listOf.transform((names, ctx) => {
      const out: string[] = [];
      for (const n of names) {
        if (n.startsWith('/')) out.push(...servicesDirectory(n, ctx, notes));
        else if (SERVICE_NAME.test(n)) out.push(n);
        else
          ctx.addIssue({
            code: 'custom',
            message: `must be service names (letters, digits, _), comma separated, or the communicator's directory of NAME.service files; ${JSON.stringify(n)} is neither`,
          });
      }
      return out;
    }),
    max_queued_bytes: intIn(1024, 1 << 30),
    max_cache_bytes: intIn(0, 2 ** 34),
    max_service_cache_bytes: intIn(0, 2 ** 34),
    max_line_length: intIn(1024, 64 << 20),
    slow_consumer_timeout: intIn(0, 3_600_000),
    first_message_timeout: intIn(0, 3_600_000),
    debug_all_messages: z
      .union([z.boolean(), z.string()])
      .transform((v) => (typeof v === 'boolean' ? v : !OFF_WORDS.has(v.trim().toLowerCase()))),
    cluster_name: z
      .string()
      .trim()
      .nullable()
      .transform((v) => (v === null || OFF.has(v.toLowerCase()) ? null : v))
      .refine((v) => v === null || CLUSTER_NAME.test(v), 'must be letters, digits, _ . - (e.g. "east")'),
    local_trust: z.unknown(),
    token_file: z
      .string()
      .nullable()
      .transform((v) => (v === null || OFF.has(v.trim().toLowerCase()) ? null : v.trim()))
      .refine((v) => v === null || isAbsolute(v), 'must be an absolute file path, or "off"'),
    identities: z.unknown(),
    roles: z.unknown(),
    local_role: z.unknown(),
    unix_role: z.unknown(),
    network_role: z.unknown(),
    signal_role: z.unknown(),
    unix_group: z
      .string()
      .trim()
      .nullable()
      .transform((v) => (v === null || OFF.has(v.toLowerCase()) ? null : v))
      .refine((v) => v === null || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(v), 'must be a group name or number'),
    ws_origins: listOf.refine(
      (items) => items.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)),
      'must be origins such as https://app.example.com (scheme, host and port; no path)',
    ),
    signal_secret_file: z.string().nullable(),
    // Its capability's parser (ConfigSources.sections) reads it after this schema; without one, JSON is all the hub asks.
    discovery: sections.discovery ? z.unknown() : jsonSection,
    backplane: backplaneUrls,
    backplane_namespace: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z][A-Za-z0-9_-]{0,31}$/,
        'must be a letter then letters, digits, _ or -, at most 32 (e.g. "prod")',
      ),
    backplane_replicas: z.union([z.literal('auto'), intIn(1, 5)]),
    backplane_credentials: z
      .string()
      .trim()
      .nullable()
      .transform((v) => (v === null || v === '' || OFF.has(v.toLowerCase()) ? null : v)),
  });

/**
 * Keys of the communicator's daemon that the hub does not take as configuration: accepted with
 * a note when ignoring them is harmless, refused when running on without them would be unsafe.
 */
const COMMUNICATOR_ONLY: Record<string, { refuse: boolean; why: string }> = {
  user_name: {
    refuse: true,
    why: 'the communicator drops its privileges to this user after opening its sockets; this hub does not, and running on with more rights than asked would be unsafe: start the hub as that user (e.g. systemd User=) and remove the key',
  },
  group_name: {
    refuse: true,
    why: 'the communicator drops its privileges to this group after opening its sockets; this hub does not, and running on with more rights than asked would be unsafe: start the hub with that group (e.g. systemd Group=) and remove the key',
  },
  communicator_plugin_paths: {
    refuse: false,
    why: "is ignored: the communicator's plugins (load average, clock check) are built into this hub, and C++ plugins cannot be loaded",
  },
  timedate_wait_command: {
    refuse: false,
    why: 'is ignored: the hub reads the clock synchronisation state from timedatectl (or adjtimex) itself',
  },
};

export interface ConfigSources {
  /** Values from command-line flags (keys in snake_case or camelCase). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Where warnings go (token files others can read); default the hub's logger. */
  warn?: (message: string) => void;
  /** Defaults to apply before the file (e.g. `start` puts the Unix socket under $SWITCHBOARD_HOME). */
  defaults?: Partial<Record<ConfigKey, unknown>>;
  /** Parsers of the sections that belong to a capability, given by the composition root (src/start). */
  sections?: ConfigSections;
}

/** The hub configuration's keys whose content a capability defines. */
export type SectionKey = 'discovery';

/**
 * Parses one capability's section from its value as given (JSON text or a value), knowing the rest
 * of the configuration; throws with a message that reads after the key's name ("is not valid: ...")
 * or, naming a field of the section, starts with the key (`discovery.expose ...`).
 */
export type ConfigSection = (value: unknown, config: Readonly<{ clusterName: string | null }>) => unknown;

export type ConfigSections = Partial<Record<SectionKey, ConfigSection>>;

export { switchboardHome };

function baseDefaults(env: NodeJS.ProcessEnv): Record<ConfigKey, unknown> {
  return {
    server_name: defaultServerName(),
    my_address: null,
    local_listen: DEFAULT_LOCAL,
    unix_listen: 'off',
    secure_listen: 'off',
    certificate: null,
    private_key: null,
    client_ca: null,
    signal: DEFAULT_SIGNAL,
    signal_secret: null,
    ws_listen: 'off',
    remote_listen: 'off',
    neighbors: [],
    max_gossip_timeout: null,
    max_connections: 100,
    max_names_per_connection: 100,
    max_pending_connections: null,
    data_path: switchboardHome(env),
    services: [],
    max_queued_bytes: 8 * 1024 * 1024,
    max_cache_bytes: 128 * 1024 * 1024,
    max_service_cache_bytes: 32 * 1024 * 1024,
    max_line_length: 1024 * 1024,
    slow_consumer_timeout: 10_000,
    first_message_timeout: 30_000,
    debug_all_messages: false,
    cluster_name: null,
    discovery: {},
    local_trust: 'roles',
    token_file: null,
    identities: {},
    roles: {},
    local_role: undefined,
    unix_role: undefined,
    network_role: undefined,
    signal_role: undefined,
    unix_group: null,
    ws_origins: [],
    signal_secret_file: null,
    backplane: [],
    backplane_namespace: 'switchboard',
    backplane_replicas: 'auto',
    backplane_credentials: null,
  };
}

function camelToSnake(key: string): string {
  return normaliseKey(key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

function isKey(k: string): k is ConfigKey {
  return (CONFIG_KEYS as readonly string[]).includes(k);
}

/** Builds the hub configuration; throws INVALID_CONFIG naming the key and its source. */
export function loadConfig(sources: ConfigSources = {}): HubConfig {
  const env = sources.env ?? process.env;
  const values: Record<string, unknown> = { ...baseDefaults(env) };
  const origin: Record<string, string> = {};
  const notes: string[] = [];
  const apply = (raw: RawConfig, from: (key: string) => string, strict: boolean) => {
    for (const [rawKey, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      const key = camelToSnake(rawKey);
      if (!isKey(key)) {
        const theirs = COMMUNICATOR_ONLY[key];
        if (theirs?.refuse) throw new SwitchboardError('INVALID_CONFIG', `${from(rawKey)}: ${key}: ${theirs.why}`);
        if (theirs) {
          notes.push(`${key} (${from(rawKey)}) ${theirs.why}`);
          continue;
        }
        if (strict)
          throw new SwitchboardError(
            'INVALID_CONFIG',
            `${from(rawKey)}: unknown key "${rawKey}" (known keys: ${CONFIG_KEYS.join(', ')})`,
          );
        continue;
      }
      values[key] = value;
      origin[key] = from(key);
    }
  };
  apply(sources.defaults ?? {}, () => 'default', true);

  const flags = { ...(sources.flags ?? {}) };
  const configFile = (flags.config as string | undefined) ?? env.SWITCHBOARD_CONFIG;
  delete flags.config;
  if (configFile)
    for (const layer of readConfigLayers(configFile))
      apply(withTrustSections(layer.values, layer.file), () => layer.file, true);

  const fromEnv: RawConfig = {};
  for (const key of CONFIG_KEYS) {
    const v = env[`SWITCHBOARD_${key.toUpperCase()}`];
    if (v !== undefined) fromEnv[key] = v;
  }
  apply(fromEnv, (k) => `SWITCHBOARD_${k.toUpperCase()}`, false);
  apply(flags, (k) => `--${k.replaceAll('_', '-')}`, true);

  const r = makeSchema(notes, sources.sections ?? {}).safeParse(values);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const where = origin[key] ? ` (from ${origin[key]})` : '';
    const raw = values[key];
    const shown =
      raw === undefined
        ? ''
        : key.endsWith('secret') || key === 'discovery' || key === 'backplane'
          ? ''
          : `: got ${JSON.stringify(typeof raw === 'string' ? redactPassword(raw) : raw)}`;
    throw new SwitchboardError('INVALID_CONFIG', `${key} ${issue.message}${shown}${where}`);
  }
  const c = r.data;
  if (c.secure_listen && (!c.certificate || !c.private_key)) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `secure_listen ${c.secure_listen} needs certificate and private_key (PEM files): add --certificate FILE --private-key FILE`,
    );
  }
  if (c.client_ca && !c.secure_listen) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `client_ca ${c.client_ca} applies to the TLS listener: add --secure-listen cds://HOST:PORT (with --certificate and --private-key)`,
    );
  }
  const sectionValues: Record<SectionKey, unknown> = { discovery: c.discovery };
  for (const [key, parse] of Object.entries(sources.sections ?? {}) as [SectionKey, ConfigSection][]) {
    try {
      sectionValues[key] = parse(values[key], { clusterName: c.cluster_name });
    } catch (err) {
      const text = errorMessage(err);
      const where = origin[key] ? ` (from ${origin[key]})` : '';
      throw new SwitchboardError('INVALID_CONFIG', `${text.startsWith(`${key}.`) ? '' : `${key} `}${text}${where}`, {
        cause: err,
      });
    }
  }
  if (c.backplane.length > 0) {
    const mesh = [
      c.remote_listen ? 'remote_listen' : '',
      c.neighbors.length ? 'neighbors' : '',
      c.secure_listen && /^cds:\/\/[^@/]+@/.test(c.secure_listen) ? 'secure_listen with credentials' : '',
    ].filter(Boolean);
    if (mesh.length)
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `backplane and the hub mesh are alternatives, and this configuration asks for both (backplane and ${mesh.join(', ')}): keep backplane and remove ${mesh.join(', ')}, or keep the mesh and remove backplane`,
      );
  } else if (c.backplane_credentials) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `backplane_credentials ${c.backplane_credentials} is for the NATS backplane: add backplane (--backplane nats://HOST:4222)`,
    );
  }
  if (!c.local_listen && !c.unix_listen && !c.secure_listen && !c.ws_listen) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      'every stream listener is off: set at least one of local_listen, unix_listen, secure_listen, ws_listen',
    );
  }
  const warn = sources.warn ?? ((message: string) => getLogger('hub').warn(message));
  let signalSecret = c.signal_secret === null || c.signal_secret.trim() === '' ? null : c.signal_secret.trim();
  if (c.signal_secret_file) {
    if (signalSecret !== null)
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `signal_secret and signal_secret_file are both set${origin.signal_secret ? ` (signal_secret from ${origin.signal_secret})` : ''}: keep one`,
      );
    signalSecret = readSecretFile(c.signal_secret_file, 'signal_secret_file', warn);
  }
  if (c.signal && !signalSecret) {
    const host = parseAddress(c.signal).host;
    if (!isLoopback(host))
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `signal ${c.signal} listens beyond this machine without signal_secret: anyone who can reach it could send STOP. ` +
          `Give signal_secret_file FILE (or SWITCHBOARD_SIGNAL_SECRET), bind it to 127.0.0.1, or turn it off (--signal off)`,
      );
  }
  let trust: TrustSpec;
  try {
    trust = parseTrustConfig(
      {
        local_trust: c.local_trust,
        identities: c.identities,
        roles: c.roles,
        local_role: c.local_role,
        unix_role: c.unix_role,
        network_role: c.network_role,
        signal_role: c.signal_role,
        unix_group: c.unix_group ?? undefined,
      },
      env,
      warn,
    );
  } catch (err) {
    const which = /^([a-z_]+)/.exec(errorMessage(err))?.[1] ?? '';
    const from = origin[which] ? ` (from ${origin[which]})` : '';
    throw new SwitchboardError('INVALID_CONFIG', `${errorMessage(err)}${from}`, { cause: err });
  }
  if (c.unix_group && !c.unix_listen)
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `unix_group ${c.unix_group} applies to the Unix socket: add --unix-listen cd:///path/to/hub.sock`,
    );
  // The socket's group: a name this machine does not know is refused (a 0660 socket for nobody helps no one).
  let unixGroupId: number | null = null;
  if (c.unix_group) {
    const gid = groupId(c.unix_group);
    if (gid === undefined)
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `unix_group ${c.unix_group} names no group of this machine${origin.unix_group ? ` (from ${origin.unix_group})` : ''}: create it (groupadd ${c.unix_group}) or remove unix_group to keep the socket to its owner`,
      );
    unixGroupId = gid;
  }
  return {
    serverName: c.server_name,
    myAddress: c.my_address,
    localListen: c.local_listen,
    unixListen: c.unix_listen,
    secureListen: c.secure_listen,
    certificate: c.certificate,
    privateKey: c.private_key,
    clientCa: c.client_ca,
    signal: c.signal,
    signalSecret,
    wsListen: c.ws_listen,
    remoteListen: c.remote_listen,
    neighbors: c.neighbors,
    maxGossipTimeoutMs: c.max_gossip_timeout,
    maxConnections: c.max_connections,
    maxNamesPerConnection: c.max_names_per_connection,
    maxPendingConnections: c.max_pending_connections,
    dataPath: c.data_path,
    services: c.services,
    maxQueuedBytes: c.max_queued_bytes,
    maxCacheBytes: c.max_cache_bytes,
    maxServiceCacheBytes: c.max_service_cache_bytes,
    maxLineLength: c.max_line_length,
    slowConsumerTimeoutMs: c.slow_consumer_timeout,
    firstMessageTimeoutMs: c.first_message_timeout,
    debugAllMessages: c.debug_all_messages,
    clusterName: c.cluster_name,
    discovery: sectionValues.discovery,
    trust,
    tokenFile: c.token_file,
    unixGroup: c.unix_group,
    wsOrigins: c.ws_origins,
    backplane: c.backplane,
    backplaneNamespace: c.backplane_namespace,
    backplaneReplicas: c.backplane_replicas,
    backplaneCredentials: c.backplane_credentials,
    unixGroupId,
    notes,
  };
}

/**
 * The key=value form writes identities and roles one field a line (`identity.billing.role=local`);
 * they are folded into `identities` / `roles` objects here.
 */
function withTrustSections(raw: RawConfig, file: string): RawConfig {
  const { identities, roles, taken } = foldDottedKeys(raw);
  if (taken.length === 0) return raw;
  const out: RawConfig = { ...raw };
  for (const k of taken) delete out[k];
  for (const [key, folded] of [
    ['identities', identities],
    ['roles', roles],
  ] as const) {
    if (Object.keys(folded).length === 0) continue;
    if (out[key] !== undefined)
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `${file}: ${key} is given both as one value and as ${key === 'identities' ? 'identity' : 'role'}.NAME.FIELD lines; use one form`,
      );
    out[key] = folded;
  }
  return out;
}
