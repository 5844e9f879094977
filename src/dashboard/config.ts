/**
 * Where the dashboard listens: `--http ADDR` (SWITCHBOARD_HTTP), default 127.0.0.1:4080, `off`
 * to disable. It always wants a token, even on loopback: the hub's admin token
 * ($SWITCHBOARD_HOME/hub.token, carried by the URL `start` prints), a configured identity's token,
 * or an extra one from `--http-token-file` (SWITCHBOARD_HTTP_TOKEN_FILE) or SWITCHBOARD_HTTP_TOKEN.
 */
import { createServer } from 'node:net';
import { z } from 'zod';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import { readSecretFile } from '../trust/secrets.js';
import { isUsableToken } from '../trust/token-file.js';

export const DEFAULT_HTTP = '127.0.0.1:4080';

export interface DashboardConfig {
  host: string;
  port: number;
  /** An extra token the dashboard accepts as the admin's (besides the hub's identities). */
  token: string | undefined;
  /** False for the default address: a busy default port only costs the dashboard, not the hub. */
  explicit: boolean;
}

const Address = z
  .string()
  .trim()
  .regex(
    /^(?:http:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)?:?(\d{1,5})?\/?$/,
    'expected HOST:PORT, :PORT or http://HOST:PORT',
  );

const TOKEN_RULE =
  'must be 16 to 512 printable ASCII characters without spaces, quotes, ; or \\ (it is sent as "Authorization: Bearer <token>"); e.g. openssl rand -hex 24 > FILE';

/** Undefined when the dashboard is off. */
export function dashboardConfig(env: NodeJS.ProcessEnv = process.env): DashboardConfig | undefined {
  const raw = env.SWITCHBOARD_HTTP?.trim() || DEFAULT_HTTP;
  if (['off', 'none', 'no', 'false'].includes(raw.toLowerCase())) return undefined;
  const parsed = Address.safeParse(/^\d+$/.test(raw) ? `:${raw}` : raw);
  if (!parsed.success)
    throw new InvalidArgumentError(
      `--http ${JSON.stringify(raw)}: expected HOST:PORT (e.g. 127.0.0.1:4080), :PORT, or "off"`,
    );
  const m = /^(?:http:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)?:?(\d{1,5})?\/?$/.exec(parsed.data)!;
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  const port = m[2] === undefined ? 4080 : Number(m[2]);
  if (port > 65535) throw new InvalidArgumentError(`--http ${JSON.stringify(raw)}: port ${port} is above 65535`);
  const fromEnv = env.SWITCHBOARD_HTTP_TOKEN?.trim() || undefined;
  const file = env.SWITCHBOARD_HTTP_TOKEN_FILE?.trim() || undefined;
  if (fromEnv && file)
    throw new InvalidArgumentError(
      'SWITCHBOARD_HTTP_TOKEN and --http-token-file (SWITCHBOARD_HTTP_TOKEN_FILE) are both set: keep one',
    );
  let token = fromEnv;
  if (file) {
    try {
      token = readSecretFile(file, '--http-token-file');
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err), { cause: err });
    }
  }
  if (token !== undefined && !isUsableToken(token))
    throw new InvalidArgumentError(
      `the dashboard token (${file ? '--http-token-file' : 'SWITCHBOARD_HTTP_TOKEN'}) ${TOKEN_RULE}`,
    );
  return { host, port, token, explicit: Boolean(env.SWITCHBOARD_HTTP?.trim()) };
}

/**
 * What `switchboard start` checks before it starts anything: the address and token rules, and for
 * an explicit `--http` that the address can be bound now (busy port, address not on this machine).
 * The default address stays lenient: when it is taken the hub runs without a dashboard.
 */
export async function checkDashboardFlags(env: NodeJS.ProcessEnv = process.env): Promise<DashboardConfig | undefined> {
  const config = dashboardConfig(env);
  if (!config?.explicit || config.port === 0) return config;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port: config.port, host: config.host, exclusive: true }, () => resolve());
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRNOTAVAIL' ? `${errorMessage(err)} (no such address on this machine)` : errorMessage(err);
    throw new SwitchboardError(
      'UNAVAILABLE',
      `the dashboard could not listen on ${config.host}:${config.port}: ${why} (choose another with --http ADDR, or --http off)`,
      { cause: err },
    );
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
  return config;
}
