/**
 * The trust section of the hub configuration, in both of its forms:
 *
 * JSON (`--config hub.json`, or JSON text in a key):
 *   { "local_trust": "roles",
 *     "identities": { "billing": { "role": "local", "token_file": "/etc/switchboard/billing.token",
 *                                   "register": ["billing", "billing_*"], "send": ["*", "sync"] },
 *                     "web": { "subject": "CN=web.example.com", "role": "local" } },
 *     "roles": { "reader": { "send": ["*"], "commands": ["LIST_SERVICES"] } } }
 *
 * key=value (communicatord.conf style): one line per field,
 *   identity.billing.token_file=/etc/switchboard/billing.token
 *   identity.billing.register=billing,billing_*
 *   role.reader.commands=LIST_SERVICES
 *
 * A token is never written in the configuration itself: `token_file` (a file holding it),
 * `token_env` (an environment variable holding it) or `token_sha256` (its SHA-256, hex, which is no
 * secret). Files and variables are read when the configuration is loaded.
 */
import { z } from 'zod';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { parseJsonText } from '../core/json-text.js';
import { readSecretFile } from './secrets.js';
import { isUsableToken } from './token-file.js';
import {
  BUILTIN_ROLES,
  DEFAULT_ANONYMOUS,
  tokenDigest,
  type AnonymousRoles,
  type IdentitySpec,
  type RoleSpec,
  type TrustMode,
  type TrustSpec,
} from './policy.js';

/** Identity and role names: what a person types in a config file and reads in a log. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** Service-name patterns: name characters and `*`. */
const NAME_PATTERN = /^[A-Za-z0-9_*]{1,64}$/;
/** Command patterns: upper-case command characters and `*`. */
const COMMAND_PATTERN = /^[A-Z0-9_*]{1,64}$/;

const list = (pattern: RegExp, example: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== ''))
    .refine((items) => items.every((s) => pattern.test(s)), {
      message: `must be a list of names or patterns with * (e.g. ${example})`,
    });

const bool = z.union([z.boolean(), z.enum(['true', 'false', 'yes', 'no', '1', '0'])]).transform((v) => {
  if (typeof v === 'boolean') return v;
  return v === 'true' || v === 'yes' || v === '1';
});

const permissionFields = {
  register: list(NAME_PATTERN, '"billing", "billing_*"').optional(),
  instances: bool.optional(),
  send: list(NAME_PATTERN, '"*", "sync"').optional(),
  broadcast: list(COMMAND_PATTERN, '"RELOAD", "*"').optional(),
  commands: list(COMMAND_PATTERN, '"LIST_SERVICES", "STOP"').optional(),
};

const RoleSchema = z.object(permissionFields).strict();

const IdentitySchema = z
  .object({
    ...permissionFields,
    role: z.string().regex(NAME, 'must be a role name').optional(),
    token_file: z.string().min(1).optional(),
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    token_sha256: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean))
      .refine((v) => v.every((d) => /^[0-9a-f]{64}$/.test(d)), {
        message: 'must be SHA-256 digests in hex (64 characters; printf %s "$TOKEN" | sha256sum)',
      })
      .optional(),
    subject: z.string().min(3).max(1024).optional(),
    token: z.unknown().optional(),
  })
  .strict();

type RawIdentity = z.infer<typeof IdentitySchema>;

function describe(issue: z.core.$ZodIssue): string {
  return `${issue.path.join('.')}${issue.path.length ? ' ' : ''}${issue.message}`;
}

/** A section given as an object (JSON file) or as JSON text (flag, environment, key=value file). */
function objectOf(value: unknown, key: string): Record<string, unknown> {
  let v = value;
  if (typeof v === 'string') {
    if (v.trim() === '') return {};
    try {
      v = parseJsonText(v, key);
    } catch (err) {
      throw new SwitchboardError('INVALID_CONFIG', errorMessage(err));
    }
  }
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new SwitchboardError('INVALID_CONFIG', `${key} must be an object of names, e.g. {"billing": {...}}`);
  return v as Record<string, unknown>;
}

/**
 * Folds the key=value form's `identity.NAME.FIELD` and `role.NAME.FIELD` keys into the
 * `identities` / `roles` objects (later lines win). Returns the keys it took.
 */
export function foldDottedKeys(raw: Record<string, unknown>): {
  identities: Record<string, Record<string, unknown>>;
  roles: Record<string, Record<string, unknown>>;
  taken: string[];
} {
  const identities: Record<string, Record<string, unknown>> = {};
  const roles: Record<string, Record<string, unknown>> = {};
  const taken: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const m = /^(identity|identities|role|roles)\.([^.]+)\.([a-z_0-9]+)$/i.exec(key);
    if (!m) continue;
    const into = m[1]!.toLowerCase().startsWith('identit') ? identities : roles;
    (into[m[2]!] ??= {})[m[3]!.toLowerCase()] = value;
    taken.push(key);
  }
  return { identities, roles, taken };
}

export interface TrustSources {
  local_trust?: unknown;
  identities?: unknown;
  roles?: unknown;
  local_role?: unknown;
  unix_role?: unknown;
  network_role?: unknown;
  signal_role?: unknown;
  /** Set: the Unix socket is shared with a group, so its connections default to the `local` role. */
  unix_group?: unknown;
}

/**
 * Builds the TrustSpec: checks every identity and role, reads token files and variables from
 * `env`. Errors are INVALID_CONFIG sentences naming the key (`identities.billing.token_file`),
 * never a token. `warn` hears about token files other users can read.
 */
export function parseTrustConfig(
  sources: TrustSources,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void = () => undefined,
): TrustSpec {
  const modeRaw = typeof sources.local_trust === 'string' ? sources.local_trust.trim().toLowerCase() : 'roles';
  if (modeRaw !== 'roles' && modeRaw !== 'full')
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `local_trust must be "roles" (identities and roles decide; the default) or "full" (every local connection may do anything, as communicatord does)`,
    );
  const mode: TrustMode = modeRaw;

  const roles: Record<string, RoleSpec> = {};
  for (const [name, value] of Object.entries(objectOf(sources.roles, 'roles'))) {
    if (!NAME.test(name))
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `roles: "${name.slice(0, 64)}" is not a role name (letters, digits, _ . -)`,
      );
    if (name === 'admin')
      throw new SwitchboardError('INVALID_CONFIG', 'roles.admin is built in (everything) and cannot be redefined');
    const r = RoleSchema.safeParse(value ?? {});
    if (!r.success) throw new SwitchboardError('INVALID_CONFIG', `roles.${name}.${describe(r.error.issues[0]!)}`);
    roles[name] = stripUndefined(r.data);
  }
  const roleExists = (name: string) => name in BUILTIN_ROLES || name in roles;

  const identities: Record<string, IdentitySpec> = {};
  for (const [name, value] of Object.entries(objectOf(sources.identities, 'identities'))) {
    if (!NAME.test(name))
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `identities: "${name.slice(0, 64)}" is not an identity name (letters, digits, _ . -)`,
      );
    if (['admin', 'hub', 'local', 'unix', 'network', 'signal'].includes(name))
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `identities.${name}: "${name}" names a built-in identity (admin, hub, local, unix, network, signal); choose another name`,
      );
    const r = IdentitySchema.safeParse(value ?? {});
    if (!r.success) throw new SwitchboardError('INVALID_CONFIG', `identities.${name}.${describe(r.error.issues[0]!)}`);
    identities[name] = identity(name, r.data, env, warn);
    const role = identities[name].role;
    if (role !== undefined && !roleExists(role))
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `identities.${name}.role "${role}" is not a role (built in: ${Object.keys(BUILTIN_ROLES).join(', ')}${Object.keys(roles).length ? `; configured: ${Object.keys(roles).join(', ')}` : ''})`,
      );
  }

  const sharedSocket = typeof sources.unix_group === 'string' && sources.unix_group.trim() !== '';
  const anonymous: AnonymousRoles = {
    local: roleKey(sources.local_role, 'local_role', DEFAULT_ANONYMOUS.local, roleExists),
    unix: roleKey(sources.unix_role, 'unix_role', sharedSocket ? 'local' : DEFAULT_ANONYMOUS.unix, roleExists),
    network: roleKey(sources.network_role, 'network_role', DEFAULT_ANONYMOUS.network, roleExists),
    signal: roleKey(sources.signal_role, 'signal_role', DEFAULT_ANONYMOUS.signal, roleExists),
  };
  return { mode, roles, identities, anonymous };
}

function roleKey(value: unknown, key: string, fallback: string, exists: (r: string) => boolean): string {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return fallback;
  const role = String(value).trim();
  if (!exists(role)) throw new SwitchboardError('INVALID_CONFIG', `${key} "${role.slice(0, 64)}" is not a role`);
  return role;
}

function identity(
  name: string,
  raw: RawIdentity,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): IdentitySpec {
  if (raw.token !== undefined)
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `identities.${name}.token: a token is not written in the configuration; give token_file (a file holding it), token_env (a variable holding it) or token_sha256 (printf %s "$TOKEN" | sha256sum)`,
    );
  const digests = [...(raw.token_sha256 ?? [])];
  const check = (token: string, where: string) => {
    if (!isUsableToken(token))
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `identities.${name}.${where}: a token must be 16 to 512 printable characters without spaces, quotes, ; or \\ (e.g. openssl rand -hex 24)`,
      );
    digests.push(tokenDigest(token));
  };
  if (raw.token_file !== undefined)
    check(readSecretFile(raw.token_file, `identities.${name}.token_file`, warn), 'token_file');
  if (raw.token_env !== undefined) {
    const v = env[raw.token_env];
    if (v === undefined || v.trim() === '')
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `identities.${name}.token_env: the environment variable ${raw.token_env} is not set`,
      );
    check(v.trim(), 'token_env');
  }
  const { token_file: _f, token_env: _e, token_sha256: _s, token: _t, subject, ...perms } = raw;
  return {
    ...stripUndefined(perms),
    tokenDigests: digests,
    ...(subject !== undefined ? { subject } : {}),
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
