/**
 * The backplane's settings: the hub configuration's `backplane*` keys plus its NATS credentials,
 * which never come from the command line: from the file named by `backplane_credentials` (a NATS
 * `.creds` file, or JSON `{"user","password"}` / `{"token"}`), or from the environment
 * (`SWITCHBOARD_BACKPLANE_USER` + `SWITCHBOARD_BACKPLANE_PASSWORD`, or `SWITCHBOARD_BACKPLANE_TOKEN`).
 * Timings come from `SWITCHBOARD_BACKPLANE_TIMINGS` (tests: `fast`).
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { errorMessage, SwitchboardError } from '../core/errors.js';
import type { HubConfig } from '../hub/config.js';
import { parseTimings, type BackplaneTimings } from './timings.js';

export type BackplaneAuth =
  | { kind: 'none' }
  | { kind: 'user'; user: string; password: string }
  | { kind: 'token'; token: string }
  /** A NATS .creds file (JWT and nkey seed), as bytes for the client's credsAuthenticator. */
  | { kind: 'creds'; creds: Uint8Array };

export interface BackplaneConfig {
  servers: string[];
  namespace: string;
  replicas: number | 'auto';
  auth: BackplaneAuth;
  timings: BackplaneTimings;
  /** Longest message line accepted from NATS (the hub's max_line_length). */
  maxLineLength: number;
  /** Most bytes of messages waiting for JetStream while it is unreachable. */
  maxPendingBytes: number;
  /** Bound of the JetStream cache stream. */
  maxStoredBytes: number;
  /** Kept messages per service (and pin), like the hub's in-memory cache. */
  maxPerService: number;
  /** PEM CA for tls:// servers (SWITCHBOARD_CA), besides the system's. */
  ca?: string;
}

/** A credentials file is a few hundred bytes; anything much larger is the wrong file. */
const MAX_CREDENTIALS_BYTES = 64 * 1024;

const JsonCredentials = z.union([
  z.object({ user: z.string().min(1).max(1024), password: z.string().min(1).max(4096) }).strict(),
  z.object({ token: z.string().min(1).max(4096) }).strict(),
]);

function refuse(message: string): never {
  throw new SwitchboardError('INVALID_CONFIG', message);
}

/** Reads and checks a credentials file; the sentence never quotes its content. */
export function readCredentialsFile(file: string, warn: (why: string) => void = () => undefined): BackplaneAuth {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) refuse(`backplane_credentials ${file} is not a file`);
    if (st.size > MAX_CREDENTIALS_BYTES)
      refuse(`backplane_credentials ${file} is ${st.size} bytes, more than a credentials file ever is (64 KiB)`);
    if ((st.mode & 0o077) !== 0)
      warn(
        `backplane_credentials ${file} can be read by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof SwitchboardError) throw err;
    return refuse(`backplane_credentials ${file} cannot be read: ${errorMessage(err)}`);
  }
  if (text.includes('-----BEGIN NATS USER JWT-----')) {
    if (!text.includes('-----BEGIN USER NKEY SEED-----'))
      refuse(
        `backplane_credentials ${file} has a NATS user JWT but no "BEGIN USER NKEY SEED" block: use the whole .creds file`,
      );
    return { kind: 'creds', creds: new TextEncoder().encode(text) };
  }
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return refuse(
        `backplane_credentials ${file} is not valid JSON (expected {"user":"...","password":"..."} or {"token":"..."})`,
      );
    }
    const r = JsonCredentials.safeParse(parsed);
    if (!r.success)
      refuse(
        `backplane_credentials ${file} must hold {"user":"...","password":"..."} or {"token":"..."} and nothing else`,
      );
    return 'token' in r.data
      ? { kind: 'token', token: r.data.token }
      : { kind: 'user', user: r.data.user, password: r.data.password };
  }
  return refuse(`backplane_credentials ${file} is neither a NATS .creds file nor JSON {"user","password"} / {"token"}`);
}

function authFromEnv(env: NodeJS.ProcessEnv): BackplaneAuth | undefined {
  const user = env.SWITCHBOARD_BACKPLANE_USER;
  const password = env.SWITCHBOARD_BACKPLANE_PASSWORD;
  const token = env.SWITCHBOARD_BACKPLANE_TOKEN;
  if (token && (user || password))
    refuse('SWITCHBOARD_BACKPLANE_TOKEN and SWITCHBOARD_BACKPLANE_USER/_PASSWORD are both set: keep one way to log in');
  if (token) return { kind: 'token', token };
  if (user && password) return { kind: 'user', user, password };
  if (user || password)
    refuse('SWITCHBOARD_BACKPLANE_USER and SWITCHBOARD_BACKPLANE_PASSWORD go together: set both, or neither');
  return undefined;
}

/** The backplane's settings, or undefined when the hub has none. Throws INVALID_CONFIG with a sentence. */
export function backplaneConfigFromHub(
  c: HubConfig,
  env: NodeJS.ProcessEnv = process.env,
  warn?: (why: string) => void,
): BackplaneConfig | undefined {
  if (c.backplane.length === 0) return undefined;
  const fromEnv = authFromEnv(env);
  if (fromEnv && c.backplaneCredentials)
    refuse(
      `NATS credentials come from both backplane_credentials (${c.backplaneCredentials}) and SWITCHBOARD_BACKPLANE_*: keep one`,
    );
  const auth = c.backplaneCredentials
    ? readCredentialsFile(c.backplaneCredentials, warn)
    : (fromEnv ?? { kind: 'none' });
  let timings: BackplaneTimings;
  try {
    timings = parseTimings(env.SWITCHBOARD_BACKPLANE_TIMINGS);
  } catch (err) {
    return refuse(`SWITCHBOARD_BACKPLANE_TIMINGS: ${errorMessage(err)}`);
  }
  return {
    servers: c.backplane,
    namespace: c.backplaneNamespace,
    replicas: c.backplaneReplicas,
    auth,
    timings,
    maxLineLength: c.maxLineLength,
    maxPendingBytes: 16 * 1024 * 1024,
    maxStoredBytes: 1024 * 1024 * 1024,
    maxPerService: 10_000,
    ...(env.SWITCHBOARD_CA ? { ca: env.SWITCHBOARD_CA } : {}),
  };
}
