/**
 * Hub addresses (`ip:port`) as the link rule needs them: parsed, ordered, and checked for the plain
 * remote listener, which only serves private or loopback networks.
 *
 * Link rule (the communicator's): of two hubs, the one with the larger address connects to the
 * smaller; toward a larger address a hub only sends GOSSIP, asking it to connect.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../core/errors.js';

export interface HubAddress {
  host: string;
  port: number;
}

export const DEFAULT_REMOTE_PORT = 4042;

/**
 * `10.0.0.1:4042`, `10.0.0.1` (default port), `[fd00::1]:4042`. Throws with a sentence. Port 0
 * (a free port, for listening) only with `allowZero`.
 */
export function parseHubAddress(text: string, defaultPort = DEFAULT_REMOTE_PORT, allowZero = false): HubAddress {
  const s = text
    .trim()
    .replace(/^cds?:\/\/([^@/]*@)?/, '')
    .replace(/\/$/, '');
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2];
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    host = i >= 0 ? s.slice(0, i) : s;
    portText = i >= 0 ? s.slice(i + 1) : undefined;
  }
  if (!isIP(host))
    throw new InvalidArgumentError(
      `"${text}" is not a hub address: expected an IP address with an optional port, like 10.0.0.2:4042`,
    );
  const port = portText === undefined || portText === '' ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535)
    throw new InvalidArgumentError(
      `"${text}" has a bad port: use 1..65535${allowZero ? ' (or 0 for a free one)' : ''}`,
    );
  return { host, port };
}

export function formatHubAddress(a: HubAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The address as 16 bytes (IPv4 mapped into ::ffff:0:0/96) so v4 and v6 order together. */
function ipBytes(host: string): number[] {
  if (isIP(host) === 4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...host.split('.').map(Number)];
  const [head = '', tail = ''] = host.includes('::') ? host.split('::') : [host, ''];
  const groups = (part: string): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const b = g.split('.').map(Number);
        out.push(((b[0] ?? 0) << 8) | (b[1] ?? 0), ((b[2] ?? 0) << 8) | (b[3] ?? 0));
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Negative when a < b, positive when a > b, 0 when equal (IP first, then port). */
export function compareHubAddresses(a: HubAddress, b: HubAddress): number {
  const x = ipBytes(a.host);
  const y = ipBytes(b.host);
  for (let i = 0; i < 16; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.port - b.port;
}

export type LinkRole = 'connect' | 'gossip';

/** What a hub at `mine` does toward `theirs`: connect (mine is larger) or only gossip. */
export function linkRole(mine: HubAddress, theirs: HubAddress): LinkRole {
  const c = compareHubAddresses(mine, theirs);
  if (c === 0)
    throw new InvalidArgumentError(
      `${formatHubAddress(theirs)} is this hub's own address; a hub cannot be its own neighbor`,
    );
  return c > 0 ? 'connect' : 'gossip';
}

/** Loopback or private (RFC 1918, link-local, IPv6 ULA/link-local): what plain `cd:` may listen on. */
export function isPrivateOrLoopback(host: string): boolean {
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
    );
  }
  if (isIP(host) === 6) {
    const bytes = ipBytes(host);
    if (bytes.every((v, i) => (i === 15 ? v === 1 : v === 0))) return true; // ::1
    if (bytes.slice(0, 10).every((v) => v === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
      return isPrivateOrLoopback(bytes.slice(12).join('.'));
    const first = bytes[0] ?? 0;
    return (first & 0xfe) === 0xfc || (first === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80);
  }
  return false;
}

/** Throws unless `host` is a concrete private or loopback address (never 0.0.0.0, ::, or public). */
export function assertPlainListenHost(host: string): void {
  if (host === '0.0.0.0' || host === '::' || host === '') {
    throw new InvalidArgumentError(
      `--remote-listen on ${host || 'all interfaces'} is refused: plain hub links carry no encryption, so give one private or loopback address (e.g. cd://10.0.0.2:4042), or use --secure-listen`,
    );
  }
  if (!isPrivateOrLoopback(host)) {
    throw new InvalidArgumentError(
      `--remote-listen on public address ${host} is refused: plain hub links carry no encryption; use a private/loopback address or --secure-listen (cds://)`,
    );
  }
}
