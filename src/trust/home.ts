/**
 * Where Switchboard keeps a user's files: `$SWITCHBOARD_HOME`, else `~/.switchboard`. The hub's
 * admin token lives there (`hub.token`), so same-user tools find it by themselves.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function switchboardHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWITCHBOARD_HOME || `${env.HOME ?? '/tmp'}/.switchboard`;
}

/** The admin token `switchboard start` writes and the CLI and the client library read. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(switchboardHome(env), 'hub.token');
}

/**
 * Creates `dir` (and missing parents) private to this user, mode 0700: it holds the store (API
 * keys, execution data, token hashes) and the admin token. Returns why an existing directory is
 * not private (others may read or write it), or undefined. Its mode is left as it is: the user
 * may have meant it; they hear about it.
 */
export function ensurePrivateDir(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    return `${dir} belongs to user ${st.uid}, not to this user (${uid}): its owner can read the store and the admin token`;
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0)
    return `${dir} can be ${(mode & 0o022) !== 0 ? 'written' : 'read'} by other users (mode ${mode.toString(8)}): the store and its secrets may be read; make it private (chmod 700)`;
  return undefined;
}
