/**
 * The hub's configuration: the communicator's keys (`server_name`, `local_listen`, ...), from
 * defaults < a file (`--config`) < `SWITCHBOARD_*` environment variables < command-line flags.
 * Validated with zod; an error names the key and where the bad value came from.
 */
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseAddress, DEFAULT_LOCAL, DEFAULT_SIGNAL, type ChannelAddress } from '../core/address.js';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import { isServerName } from '../core/codec/index.js';
import { normaliseKey, readConfigFile, type RawConfig } from './config-file.js';
import { PEER_NAME, parseDiscoveryConfig, type DiscoveryConfig } from '../core/discovery-schema.js';
import { foldDottedKeys, parseTrustConfig } from '../trust/config.js';
import { switchboardHome } from '../trust/home.js';
import { readSecretFile } from '../trust/secrets.js';
import type { TrustSpec } from '../trust/policy.js';

/** Every key the hub understands, in `--help` order. */
export const CONFIG_KEYS = [
  'server_name',
  'local_listen',
  'unix_listen',
  'secure_listen',
  'certificate',
  'private_key',
  'client_ca',
  'signal',
  'signal_secret',
  'ws_listen',
  'remote_listen',
  'neighbors',
  'max_connections',
  'data_path',
  'services',
  'max_queued_bytes',
  'max_line_length',
  'slow_consumer_timeout',
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
  serverName: string;
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
  maxConnections: number;
  dataPath: string;
  /** Services known to this hub before they ever register (their messages are cached). */
  services: string[];
  maxQueuedBytes: number;
  maxLineLength: number;
  /** A connection whose outbound queue keeps dropping for this long (ms) is closed. */
  slowConsumerTimeoutMs: number;
  /** The cluster this hub belongs to (discovery: kind `service` stays inside it; `expose` is published as kind `cluster`). */
  clusterName: string | null;
  /** Discovery's section: exposed endpoints and the request policies pushed to clients. */
  discovery: DiscoveryConfig;
  /** Identities, roles and how unauthenticated connections are treated (src/trust, SECURITY.md). */
  trust: TrustSpec;
  /** The admin token's file (written 0600 at start when absent); null = no admin token. */
  tokenFile: string | null;
  /** Group that may use the Unix socket (mode 0660 instead of 0600). */
  unixGroup: string | null;
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
}

/** `cds://user:secret@host:port` -> `cds://user:***@host:port`: addresses are printed and logged. */
export function redactPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

/** `off`, `none`, `no` or an empty value turn a listener off. */
const OFF = new Set(['', 'off', 'none', 'no', 'false']);

function defaultServerName(): string {
  let name = hostname()
    .split('.')[0]!
    .replace(/[^A-Za-z0-9_]/g, '_');
  if (name === '' || /^[0-9]/.test(name)) name = `_${name}`;
  return name;
}

const listOf = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(/[,\s]+/)).map((s) => s.trim()).filter((s) => s !== ''));

function optionalUrl(check?: (a: ChannelAddress) => string | undefined) {
  return z.string().transform((raw, ctx) => {
    const v = raw.trim();
    if (OFF.has(v.toLowerCase())) return null;
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

/** The communicator's form: a directory whose `NAME.service` files name the known services. */
function servicesDirectory(dir: string, ctx: { addIssue(issue: { code: 'custom'; message: string }): void }): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.service'))
      .map((f) => f.slice(0, -'.service'.length))
      .filter((n) => SERVICE_NAME.test(n));
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `directory ${dir} cannot be read: ${errorMessage(err)}` });
    return [];
  }
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

const schema = z.object({
  server_name: z
    .string()
    .trim()
    .refine(
      (s) => s !== '' && isServerName(s) && !['*', '?', '.'].includes(s),
      'must be letters, digits and _, not starting with a digit (e.g. "web1")',
    ),
  local_listen: optionalUrl((a) =>
    a.transport !== 'tcp'
      ? 'must be a cd://host:port TCP address (use --unix-listen for a socket)'
      : !isLoopback(a.host)
        ? `must be a loopback address such as 127.0.0.1 (got ${a.host}); other hosts use --remote-listen or --secure-listen`
        : undefined,
  ),
  unix_listen: optionalUrl((a) =>
    a.transport !== 'unix' ? 'must be a Unix socket URL such as cd:///run/switchboard.sock' : undefined,
  ),
  secure_listen: optionalUrl((a) => (a.transport !== 'tls' ? 'must be a cds://host:port TLS address' : undefined)),
  certificate: z.string().nullable(),
  private_key: z.string().nullable(),
  client_ca: z.string().nullable(),
  signal: optionalUrl((a) => (a.transport !== 'udp' ? 'must be a cdu://host:port UDP address' : undefined)),
  signal_secret: z.string().nullable(),
  ws_listen: optionalUrl((a) => (a.transport !== 'ws' ? 'must be a ws://host:port/path address' : undefined)),
  remote_listen: optionalUrl((a) =>
    a.transport !== 'tcp' && a.transport !== 'tls' ? 'must be a cd://ip:port (or cds://) address' : undefined,
  ),
  neighbors: listOf,
  max_connections: intIn(5, 10000),
  data_path: z
    .string()
    .trim()
    .min(1, 'must be a directory path')
    .refine((p) => isAbsolute(p), 'must be an absolute directory path'),
  services: listOf.transform((names, ctx) => {
    const out: string[] = [];
    for (const n of names) {
      if (n.startsWith('/')) out.push(...servicesDirectory(n, ctx));
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
  max_line_length: intIn(1024, 64 << 20),
  slow_consumer_timeout: intIn(0, 3_600_000),
  cluster_name: z
    .string()
    .trim()
    .nullable()
    .transform((v) => (v === null || OFF.has(v.toLowerCase()) ? null : v))
    .refine((v) => v === null || PEER_NAME.test(v), 'must be letters, digits, _ . - (e.g. "east")'),
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
  discovery: z.unknown().transform((v, ctx) => {
    try {
      return parseDiscoveryConfig(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorMessage(err) });
      return z.NEVER;
    }
  }),
  backplane: backplaneUrls,
  backplane_namespace: z
    .string()
    .trim()
    .regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'must be a letter then letters, digits, _ or -, at most 32 (e.g. "prod")'),
  backplane_replicas: z.union([z.literal('auto'), intIn(1, 5)]),
  backplane_credentials: z
    .string()
    .trim()
    .nullable()
    .transform((v) => (v === null || v === '' || OFF.has(v.toLowerCase()) ? null : v)),
});

export interface ConfigSources {
  /** Values from command-line flags (keys in snake_case or camelCase). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Where warnings go (token files others can read); default the hub's logger. */
  warn?: (message: string) => void;
  /** Defaults to apply before the file (e.g. `start` puts the Unix socket under $SWITCHBOARD_HOME). */
  defaults?: Partial<Record<ConfigKey, unknown>>;
}

export { switchboardHome };

function baseDefaults(env: NodeJS.ProcessEnv): Record<ConfigKey, unknown> {
  return {
    server_name: defaultServerName(),
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
    max_connections: 100,
    data_path: switchboardHome(env),
    services: [],
    max_queued_bytes: 8 * 1024 * 1024,
    max_line_length: 1024 * 1024,
    slow_consumer_timeout: 10_000,
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
  const apply = (raw: RawConfig, from: (key: string) => string, strict: boolean) => {
    for (const [rawKey, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      const key = camelToSnake(rawKey);
      if (!isKey(key)) {
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
  if (configFile) apply(withTrustSections(readConfigFile(configFile), configFile), () => configFile, true);

  const fromEnv: RawConfig = {};
  for (const key of CONFIG_KEYS) {
    const v = env[`SWITCHBOARD_${key.toUpperCase()}`];
    if (v !== undefined) fromEnv[key] = v;
  }
  apply(fromEnv, (k) => `SWITCHBOARD_${k.toUpperCase()}`, false);
  apply(flags, (k) => `--${k.replaceAll('_', '-')}`, true);

  const r = schema.safeParse(values);
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
  if (Object.keys(c.discovery.expose).length > 0 && !c.cluster_name) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `discovery.expose (${Object.keys(c.discovery.expose).join(', ')}) is published under the hub's cluster name: set cluster_name (--cluster-name east)`,
    );
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
  return {
    serverName: c.server_name,
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
    maxConnections: c.max_connections,
    dataPath: c.data_path,
    services: c.services,
    maxQueuedBytes: c.max_queued_bytes,
    maxLineLength: c.max_line_length,
    slowConsumerTimeoutMs: c.slow_consumer_timeout,
    clusterName: c.cluster_name,
    discovery: c.discovery,
    trust,
    tokenFile: c.token_file,
    unixGroup: c.unix_group,
    wsOrigins: c.ws_origins,
    backplane: c.backplane,
    backplaneNamespace: c.backplane_namespace,
    backplaneReplicas: c.backplane_replicas,
    backplaneCredentials: c.backplane_credentials,
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
