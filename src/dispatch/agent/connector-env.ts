/**
 * The environment a connector process starts with: an allow-list of what programs need to run
 * (where to find programs, the user, locale, time zone, temporary directory, TLS trust), plus what
 * the agent's command asked for by name (`--env NAME` passes the agent's value, `--env NAME=VALUE`
 * sets one), plus the connector's id and kind. Never the rest of the agent's environment: an agent
 * started beside a hub or a dispatcher holds their secrets (SWITCHBOARD_HTTP_TOKEN, the AMQP URL
 * with its password, SWITCHBOARD_AGENT_TOKEN), and a connector is someone else's program.
 */
import { InvalidArgumentError } from '../../core/errors.js';

export const ALLOWED_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TERM',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  // Windows needs these to start most programs.
  'SYSTEMROOT',
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface EnvRequest {
  /** Names passed through from the agent's environment (absent ones are skipped). */
  pass: string[];
  /** Values set for the connector. */
  set: Record<string, string>;
}

/** Parses `--env NAME` / `--env NAME=VALUE` arguments. */
export function parseEnvArgs(args: readonly string[]): EnvRequest {
  const out: EnvRequest = { pass: [], set: {} };
  for (const a of args) {
    const i = a.indexOf('=');
    const name = i === -1 ? a : a.slice(0, i);
    if (!ENV_NAME.test(name))
      throw new InvalidArgumentError(`--env takes NAME or NAME=VALUE (NAME: letters, digits, _), got "${a}"`);
    if (i === -1) out.pass.push(name);
    else out.set[name] = a.slice(i + 1);
  }
  return out;
}

export function connectorEnv(
  from: NodeJS.ProcessEnv,
  request: Partial<EnvRequest>,
  own: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if ((ALLOWED_ENV as readonly string[]).includes(name) || name.startsWith('LC_')) env[name] = value;
  }
  for (const name of request.pass ?? []) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...request.set, ...own };
}
