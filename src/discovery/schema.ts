/**
 * What discovery reads from outside the process, validated with zod: the endpoint advertisement a
 * service gives on REGISTER (`endpoints=[...]`; the discovery agent sets it as the hub's check),
 * request policies, the hub configuration's `discovery` section (the composition root hands its
 * parser to the hub's loadConfig), the per-hub snapshots the agents exchange, and the override
 * JSON (`SWITCHBOARD_PEERS_OVERRIDE`). Bad input becomes an InvalidArgumentError with a sentence
 * saying what to fix.
 */
import { z } from 'zod';
import { InvalidArgumentError, errorMessage } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';

export const PEER_KINDS = ['service', 'cluster', 'database', 'queue'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

/** Endpoint, resource and cluster names: letters, digits, _ . - */
export const PEER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** One network endpoint of an instance. Extra fields travel along to the peer entry. */
export const EndpointAd = z.looseObject({
  name: z.string().regex(PEER_NAME, 'an endpoint name is letters, digits, _ . - (e.g. "default")').default('default'),
  protocol: z.string().min(1).default('http'),
  networkProtocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** Missing = the address the instance connected to the hub from. */
  address: z.string().min(1).optional(),
  port: z
    .number({
      error: (iss) =>
        iss.input === undefined
          ? 'port is missing (a number, 1..65535)'
          : `port must be a number (1..65535), got ${JSON.stringify(iss.input)}`,
    })
    .int('port must be a whole number')
    .min(1, 'port must be 1..65535')
    .max(65535, 'port must be 1..65535'),
});
export type EndpointAd = z.infer<typeof EndpointAd>;

/** A database or queue the instance uses, with whatever info its consumers need. */
export const ResourceAd = z.object({
  kind: z.enum(['database', 'queue']),
  name: z.string().regex(PEER_NAME, 'a resource name is letters, digits, _ . -'),
  info: z.record(z.string(), z.unknown()).default({}),
});
export type ResourceAd = z.infer<typeof ResourceAd>;

export const AdItem = z.union([ResourceAd, EndpointAd]);
export const Advertisement = z.array(AdItem);
export type Advertisement = z.infer<typeof Advertisement>;

export function isResource(item: EndpointAd | ResourceAd): item is ResourceAd {
  return 'kind' in item && (item.kind === 'database' || item.kind === 'queue') && 'info' in item;
}

export const ADVERTISEMENT_EXAMPLE = '[{"name":"default","protocol":"http","address":"127.0.0.1","port":8080}]';

/** The advertisement from a REGISTER `endpoints` value (JSON text or already parsed). */
export function parseAdvertisement(value: unknown, what = 'endpoints'): Advertisement {
  let data = value;
  if (typeof value === 'string') {
    try {
      data = JSON.parse(value);
    } catch {
      throw new InvalidArgumentError(`${what} is not JSON: give an array such as ${ADVERTISEMENT_EXAMPLE}`);
    }
  }
  const bad = (why: string) =>
    new InvalidArgumentError(
      `${what} is not a valid endpoint advertisement: ${why}; expected an array such as ${ADVERTISEMENT_EXAMPLE}`,
    );
  if (!Array.isArray(data)) throw bad(`got ${data === null ? 'null' : typeof data}, not an array`);
  // Item by item, each against its own schema, so the message names the real problem (a union's does not).
  return data.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad(`at ${i}: an item is an object`);
    const schema = 'kind' in item ? ResourceAd : EndpointAd;
    const parsed = schema.safeParse(item);
    if (!parsed.success) throw bad(describeZod(parsed.error, [i]));
    return parsed.data;
  });
}

/** The hub's check of REGISTER's `endpoints=` (HubContext.checkEndpoints): the advertisement, or the sentence. */
export function checkAdvertisement(value: unknown): Result<Advertisement> {
  try {
    return ok(parseAdvertisement(value));
  } catch (err) {
    return fail(errorMessage(err));
  }
}

// ---- request policies ---------------------------------------------------------------------------

const policyFields = {
  timeoutMs: z.number().int().positive(),
  retryCount: z.number().int().nonnegative(),
  retryInitialDelayMs: z.number().nonnegative(),
  retryDelayMultiplier: z.number().min(1),
  retryMaxDelayMs: z.number().nonnegative(),
  noPeerRetry: z.boolean(),
  balance: z.enum(['random', 'round-robin', 'least-pending', 'least-loaded']),
  breakerFailures: z.number().int().positive(),
  breakerCooldownMs: z.number().int().nonnegative(),
};
/** A complete request policy. */
export const RequestPolicy = z.strictObject(policyFields);
export type RequestPolicy = z.infer<typeof RequestPolicy>;
export type PolicyInput = Partial<RequestPolicy>;
/** A layer of a policy: any subset of the fields (no defaults filled in: layers merge). */
export const PolicyLayer = z.strictObject(policyFields).partial();

/** Berlioz's defaults (timeout 5 s, 3 retries, 500 ms doubling to 5 s), plus random balancing and a 5-failure breaker. */
export const DEFAULT_POLICY: RequestPolicy = {
  timeoutMs: 5000,
  retryCount: 3,
  retryInitialDelayMs: 500,
  retryDelayMultiplier: 2,
  retryMaxDelayMs: 5000,
  noPeerRetry: true,
  balance: 'random',
  breakerFailures: 5,
  breakerCooldownMs: 10_000,
};

/** Merges layers (later wins) over the defaults; throws naming the bad field. */
export function resolvePolicy(...layers: (PolicyInput | undefined)[]): RequestPolicy {
  const merged = Object.assign({ ...DEFAULT_POLICY }, ...layers.filter(Boolean)) as PolicyInput;
  const parsed = RequestPolicy.safeParse(merged);
  if (!parsed.success)
    throw new InvalidArgumentError(
      `invalid request policy: ${describeZod(parsed.error)} (fields: ${Object.keys(policyFields).join(', ')})`,
    );
  return parsed.data;
}

/** `default`, `<kind>/<name>` or `<kind>/<name>/<endpoint>`. */
const POLICY_KEY =
  /^(default|(service|cluster|database|queue)\/[A-Za-z_][A-Za-z0-9_.-]*(\/[A-Za-z_][A-Za-z0-9_.-]*)?)$/;

/** Policies a hub pushes to its clients: `{ "default": {...}, "service/app": {...}, "service/app/admin": {...} }`. */
export const PolicyTable = z.record(z.string(), PolicyLayer).superRefine((table, ctx) => {
  for (const key of Object.keys(table)) {
    if (!POLICY_KEY.test(key))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message:
          'a policy key is "default", "<kind>/<name>" or "<kind>/<name>/<endpoint>" (kinds: service, cluster, database, queue)',
      });
  }
});
export type PolicyTable = z.infer<typeof PolicyTable>;

// ---- the hub's discovery configuration -----------------------------------------------------------

const EXPOSED_TEXT = /^([A-Za-z_][A-Za-z0-9_]*)(?:\/([A-Za-z_][A-Za-z0-9_.-]*))?$/;
const ExposedObject = z.strictObject({
  service: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a service name is letters, digits and _'),
  endpoint: z.string().regex(PEER_NAME, 'an endpoint name is letters, digits, _ . -').default('default'),
});
/** What a cluster exposes under one name: a service's endpoint (`"app"`, `"app/admin"` or `{ "service": "app", "endpoint": "admin" }`). */
const Exposed = z.union([z.string(), ExposedObject]).transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  const m = EXPOSED_TEXT.exec(v);
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `an exposed endpoint is "<service>" or "<service>/<endpoint>" (got ${JSON.stringify(v)})`,
    });
    return z.NEVER;
  }
  return { service: m[1]!, endpoint: m[2] ?? 'default' };
});

/**
 * The `discovery` key of the hub configuration:
 * `{ "expose": { "api": "app/default" }, "policies": { "default": { "timeoutMs": 2000 } } }`.
 * `expose` is published only when the hub has a `cluster_name`.
 */
export const DiscoveryConfig = z.strictObject({
  expose: z.record(z.string().regex(PEER_NAME, 'an exposed name is letters, digits, _ . -'), Exposed).default({}),
  policies: PolicyTable.default({}),
});
export type DiscoveryConfig = z.infer<typeof DiscoveryConfig>;

/** The `discovery` configuration value (an object, or JSON text from a flag, env or key=value file). */
export function parseDiscoveryConfig(value: unknown): DiscoveryConfig {
  let data = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return { expose: {}, policies: {} };
    try {
      data = JSON.parse(value);
    } catch (err) {
      throw new InvalidArgumentError(
        `is not JSON (${(err as Error).message}): give {"expose":{"api":"app/default"},"policies":{"default":{"timeoutMs":2000}}}`,
      );
    }
  }
  const parsed = DiscoveryConfig.safeParse(data ?? {});
  if (!parsed.success) throw new InvalidArgumentError(`is not valid: ${describeZod(parsed.error)}`);
  return parsed.data;
}

/**
 * The hub configuration's `discovery` section, parsed and checked against the hub's `cluster_name`
 * (the composition root hands this to loadConfig; the hub itself keeps the section as given).
 */
export function discoveryConfigSection(
  value: unknown,
  config: Readonly<{ clusterName: string | null }>,
): DiscoveryConfig {
  const parsed = parseDiscoveryConfig(value);
  const exposed = Object.keys(parsed.expose);
  if (exposed.length > 0 && !config.clusterName)
    throw new InvalidArgumentError(
      `discovery.expose (${exposed.join(', ')}) is published under the hub's cluster name: set cluster_name (--cluster-name east)`,
    );
  return parsed;
}

/** The first issue as "at 0.port: ..." (the value is shown when it helps). */
export function describeZod(error: z.ZodError, prefix: PropertyKey[] = []): string {
  const issue = error.issues[0];
  if (!issue) return 'bad value';
  const path = [...prefix, ...issue.path].map(String);
  const where = path.length ? `at ${path.join('.')}: ` : '';
  if (issue.code === 'unrecognized_keys')
    return `${where}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  return `${where}${issue.message}`;
}

// ---- what the agents exchange ----------------------------------------------------------------

export const KINDS = PEER_KINDS;

/** One hub's view of one service: what its agent broadcasts as PEERS and answers to PEERS_SYNC. */
export const Snapshot = z.object({
  server: z.string().min(1),
  service: z.string().min(1),
  /** The hub's start time: a restarted hub's counter begins again. */
  gen: z.number(),
  seq: z.number().int().nonnegative(),
  /** The hub's `cluster_name`, when it has one: kind `service` finds only its own cluster's instances. */
  cluster: z.string().regex(PEER_NAME).optional(),
  /** Exposed name -> this service's endpoint name, from the hub's `discovery.expose` (kind `cluster`). */
  exposes: z.record(z.string(), z.string()).optional(),
  instances: z.array(z.object({ instance: z.string(), host: z.string(), endpoints: Advertisement })),
});
export type Snapshot = z.infer<typeof Snapshot>;

export const SnapshotList = z.array(Snapshot);

/** What the hub's agent answers to DISCOVERY_SYNC (parameters of DISCOVERY_SNAPSHOT). */
export const SyncReply = z.object({
  server_name: z.string().optional(),
  cluster: z.string().optional(),
  snapshots: SnapshotList,
  policies: PolicyTable.default({}),
});

/** A peer as callers see it (Berlioz's shape plus where it lives). */
export interface Peer {
  address: string;
  port: number;
  protocol: string;
  networkProtocol: 'tcp' | 'udp';
  [extra: string]: unknown;
}
export type PeerMap = Record<string, Peer>;
/** A database/queue: identity -> its info. */
export type ResourceMap = Record<string, Record<string, unknown>>;

const PeerEntry = z.looseObject({
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  protocol: z.string().default('http'),
  networkProtocol: z.enum(['tcp', 'udp']).default('tcp'),
});
/** `{ "service": { "app": { "default": { "<identity>": { address, port, ... } } } } }` */
export const Override = z.partialRecord(
  z.enum(KINDS),
  z.record(z.string(), z.record(z.string(), z.record(z.string(), PeerEntry))),
);
export type Override = z.infer<typeof Override>;

export const OVERRIDE_ENV = 'SWITCHBOARD_PEERS_OVERRIDE';

export function parseOverride(text: string): Override {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(
      `${OVERRIDE_ENV} does not parse as JSON (${(err as Error).message}): give {"service":{"<name>":{"default":{"<id>":{"address":"127.0.0.1","port":8080}}}}}`,
    );
  }
  const parsed = Override.safeParse(data);
  if (!parsed.success)
    throw new InvalidArgumentError(
      `${OVERRIDE_ENV} is not a valid peer override: ${describeZod(parsed.error)}; shape {"service":{"<name>":{"<endpoint>":{"<id>":{"address":"...","port":N}}}}}, kinds ${KINDS.join(', ')}`,
    );
  return parsed.data;
}

export function checkKind(kind: string): PeerKind {
  if ((KINDS as readonly string[]).includes(kind)) return kind as PeerKind;
  throw new InvalidArgumentError(`unknown peer kind "${kind}": use one of ${KINDS.join(', ')}`);
}
