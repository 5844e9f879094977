/**
 * Channel addresses as URLs, the communicator's schemes plus WebSocket:
 *   cd://host:port       TCP (default port 4040)
 *   cd:///path/to.sock   Unix socket (cd: only; never cds:)
 *   cds://[user:pass@]host:port   TLS (default 4043)
 *   cdu://host:port      UDP, one message per datagram (default 4041)
 *   ws://host:port/path, wss://...   WebSocket (default 80 / 443, path `/`)
 */
import { InvalidArgumentError } from './errors.js';

export type AddressScheme = 'cd' | 'cds' | 'cdu' | 'ws' | 'wss';
export type TransportKind = 'tcp' | 'unix' | 'tls' | 'udp' | 'ws';

export interface ChannelAddress {
  /** The URL as given (normalised by formatAddress when built from parts). */
  url: string;
  scheme: AddressScheme;
  transport: TransportKind;
  /** Host name or IP (IPv6 without brackets); `''` for a Unix socket. */
  host: string;
  /** Port; 0 asks the OS for a free one when listening; 0 for a Unix socket. */
  port: number;
  /** Unix socket path, or the WebSocket path (with query); `''` otherwise. */
  path: string;
  username?: string;
  password?: string;
}

export const DEFAULT_LOCAL = 'cd://127.0.0.1:4040';
export const DEFAULT_SIGNAL = 'cdu://127.0.0.1:4041';
export const DEFAULT_LOCAL_PORT = 4040;
export const DEFAULT_SIGNAL_PORT = 4041;
export const DEFAULT_REMOTE_PORT = 4042;
export const DEFAULT_SECURE_PORT = 4043;

const DEFAULT_PORTS: Record<AddressScheme, number> = {
  cd: DEFAULT_LOCAL_PORT,
  cds: DEFAULT_SECURE_PORT,
  cdu: DEFAULT_SIGNAL_PORT,
  ws: 80,
  wss: 443,
};
const SCHEMES = Object.keys(DEFAULT_PORTS) as AddressScheme[];

function isScheme(s: string): s is AddressScheme {
  return (SCHEMES as string[]).includes(s);
}

function refuse(url: string, problem: string): never {
  throw new InvalidArgumentError(`address ${JSON.stringify(url)}: ${problem}`);
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return refuse(url, `the ${what} has a bad %-escape`);
  }
}

export function parseAddress(url: string): ChannelAddress {
  const text = url.trim();
  const sep = text.indexOf('://');
  if (sep <= 0)
    refuse(
      url,
      'expected a URL such as cd://127.0.0.1:4040, cd:///run/switchboard.sock, cds://host:4043, cdu://host:4041 or ws://host:port/path',
    );
  const scheme = text.slice(0, sep).toLowerCase();
  if (!isScheme(scheme)) refuse(url, `unknown scheme "${scheme}:" (use cd:, cds:, cdu:, ws: or wss:)`);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return refuse(url, 'not a valid URL (IPv6 hosts go in brackets: cd://[::1]:4040)');
  }
  const username = parsed.username ? decode(url, parsed.username, 'user name') : undefined;
  const password = parsed.password ? decode(url, parsed.password, 'password') : undefined;
  const credentials = {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };

  if (parsed.hostname === '') {
    if (scheme === 'cds')
      refuse(url, 'a Unix socket cannot be secure: use cd:///path.sock, or cds://host:port for TLS');
    if (scheme !== 'cd') refuse(url, `${scheme}: needs a host (a Unix socket path works with cd: only)`);
    const path = decode(url, parsed.pathname, 'socket path');
    if (path === '' || path === '/') refuse(url, 'a Unix socket URL needs a path: cd:///run/switchboard.sock');
    if (parsed.port) refuse(url, 'a Unix socket has no port');
    return { url: text, scheme, transport: 'unix', host: '', port: 0, path, ...credentials };
  }

  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? DEFAULT_PORTS[scheme] : Number(parsed.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) refuse(url, `port ${parsed.port} is out of range 0..65535`);
  if (scheme === 'ws' || scheme === 'wss') {
    return {
      url: text,
      scheme,
      transport: 'ws',
      host,
      port,
      path: `${parsed.pathname || '/'}${parsed.search}`,
      ...credentials,
    };
  }
  if (parsed.pathname !== '' && parsed.pathname !== '/')
    refuse(url, `${scheme}: takes no path ("${parsed.pathname}"); a Unix socket is cd:///path.sock`);
  const transport = scheme === 'cd' ? 'tcp' : scheme === 'cds' ? 'tls' : 'udp';
  return { url: text, scheme, transport, host, port, path: '', ...credentials };
}

/**
 * The communicator writes addresses without a scheme: `127.0.0.1:4040`, `[::1]:4040`, `10.0.0.5`
 * (default port), `user:pass@10.0.0.5:4043`, or a Unix socket path `/run/communicator/x.sock`.
 * Adds `scheme://` to such a value (a path becomes `cd:///path`); a URL is returned unchanged.
 */
export function withScheme(value: string, scheme: AddressScheme): string {
  const v = value.trim();
  if (v === '' || v.includes('://')) return v;
  if (v.startsWith('/')) return `cd://${encodeURI(v)}`;
  return `${scheme}://${v}`;
}

/**
 * The hub a client dials: `given`, else `SWITCHBOARD_ADDRESS`, else the communicator's own
 * `COMMUNICATOR_LISTEN`, else `cd://127.0.0.1:4040`; the communicator's bare forms
 * (`127.0.0.1:4040`, a socket path) are taken as `cd:`.
 */
export function hubAddressFrom(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = [env.SWITCHBOARD_ADDRESS, env.COMMUNICATOR_LISTEN].find((v) => v !== undefined && v.trim() !== '');
  return withScheme(given ?? fromEnv ?? DEFAULT_LOCAL, 'cd');
}

/** The URL for an address (always with an explicit port, IPv6 in brackets). */
export function formatAddress(addr: Omit<ChannelAddress, 'url'> & { url?: string }): string {
  if (addr.transport === 'unix') return `cd://${encodeURI(addr.path)}`;
  const auth =
    addr.username !== undefined
      ? `${encodeURIComponent(addr.username)}${addr.password !== undefined ? `:${encodeURIComponent(addr.password)}` : ''}@`
      : '';
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  const path = addr.transport === 'ws' ? (addr.path.startsWith('/') ? addr.path : `/${addr.path}`) : '';
  return `${addr.scheme}://${auth}${host}:${addr.port}${path}`;
}
