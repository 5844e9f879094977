/**
 * Where Switchboard keeps a user's files: `$SWITCHBOARD_HOME`, else `~/.switchboard`. The hub's
 * admin token lives there (`hub.token`), so same-user tools find it by themselves.
 */
import { join } from 'node:path';

export function switchboardHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWITCHBOARD_HOME || `${env.HOME ?? '/tmp'}/.switchboard`;
}

/** The admin token `switchboard start` writes and the CLI and the client library read. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(switchboardHome(env), 'hub.token');
}
