/**
 * The environment a connector (and its install/update commands) runs with: an allow-list of what
 * programs need to work (PATH, HOME, locale, temp folder, proxies and CA files), the variables its
 * manifest's `env` names, and what the host sets itself. Never the rest of the hub's environment:
 * the hub's token, the database and broker URLs with their passwords, anything else it was given.
 */

/** Copied from the hub's environment when set. */
const ALLOWED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'TMPDIR',
  'TMP',
  'TEMP',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
]);
const ALLOWED_PREFIX = /^LC_[A-Z]+$/;

/**
 * `manifestEnv`: names the connector's manifest asks for (validated at install: never `SWITCHBOARD_*`).
 * `set`: what the host adds (e.g. SWITCHBOARD_ACCOUNT), winning over the rest.
 */
export function connectorEnv(
  manifestEnv: readonly string[],
  set: Record<string, string> = {},
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) {
    if (v !== undefined && (ALLOWED.has(k) || ALLOWED_PREFIX.test(k))) env[k] = v;
  }
  for (const k of manifestEnv) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...set };
}
