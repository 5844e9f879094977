/**
 * The token a client proves itself with (the client library, the CLI's short conversations):
 * given explicitly, else `SWITCHBOARD_TOKEN`, else, for a hub on this machine (loopback TCP,
 * TLS or WebSocket, or a Unix socket), the admin token `switchboard start` keeps in
 * `$SWITCHBOARD_HOME/hub.token` when that file is this user's and private (as Jupyter's tools find
 * their server's token). The file's token is never sent to a hub on another machine, nor over
 * UDP (a datagram's credential is the signal secret).
 */
import { parseAddress } from '../core/address.js';
import { defaultTokenFile } from './home.js';
import { isLoopbackAddress } from './policy.js';
import { readTokenFile } from './token-file.js';

export interface ClientToken {
  token: string;
  /** Where it came from: an option, the environment, or the hub's token file. */
  source: 'option' | 'env' | 'file';
}

/** Whether `address` names a hub on this machine over a stream (Unix socket, or a loopback host). */
export function isLocalStreamAddress(address: string): boolean {
  try {
    const a = parseAddress(address);
    if (a.transport === 'unix') return true;
    if (a.transport === 'udp') return false;
    return isLoopbackAddress(a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
  } catch {
    return false;
  }
}

/** `given` false: none. Undefined when there is nothing to send. Never throws. */
export function clientToken(
  address: string,
  given: string | false | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ClientToken | undefined {
  if (given === false) return undefined;
  let udp = false;
  try {
    udp = parseAddress(address).transport === 'udp';
  } catch {
    // the transport refuses a bad address with its own sentence
  }
  if (udp) return undefined;
  if (given !== undefined && given !== '') return { token: given, source: 'option' };
  const fromEnv = env.SWITCHBOARD_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'env' };
  if (!isLocalStreamAddress(address)) return undefined;
  const read = readTokenFile(defaultTokenFile(env));
  return 'token' in read ? { token: read.token, source: 'file' } : undefined;
}
