/**
 * The hub's door: which identity each connection speaks for, and the one check every line passes.
 *
 * A connection starts with the grant of where it comes from (src/trust): the Unix socket (whoever
 * its file mode and group let in), a loopback or a network peer, a verified TLS client
 * certificate, the hub's own in-process services. `AUTH token=...` or REGISTER's `password=`
 * replace it with the grant of the identity the token proves. The message layer calls `admit`
 * for every valid line, before the fast path and the full path alike: a flag for the admin, one
 * cached map lookup otherwise. A refusal is answered to the connection that was refused (INVALID
 * with a sentence naming the rule), logged once per kind and counted by reason
 * (`switchboard_refusals_total`).
 *
 * Beside identities, the door keeps out what is not the hub's protocol at all: a stream whose
 * first line is an HTTP request (a web page's `fetch` to the hub's port) is closed, as Redis does.
 */
import type { Channel } from '../core/channel.js';
import type { Message } from '../core/message.js';
import { baseName, isBroadcast } from '../core/protocol/index.js';
import { isLoopbackAddress, tokenDigest, type Grant, type Refusal, type TrustPolicy } from '../trust/policy.js';
import type { Signer } from '../trust/cluster-commands.js';
import type { RefusalLog } from '../trust/refusals.js';
import type { ConnectionKind, HubConnection } from './connection.js';

/** Failed AUTH attempts after which a connection is closed: tokens are not guessed one line at a time. */
export const MAX_AUTH_FAILURES = 3;

/**
 * An HTTP request line (`POST / HTTP/1.1`, `GET /x HTTP/1.0`) or a header a browser always sends
 * (`Host:`): what a web page's request to the hub's port starts with. No message of the protocol
 * looks like either (a command is upper case and parameters are `name=value`).
 */
const HTTP_LINE =
  /^(?:[A-Z]{3,10} \S+ HTTP\/\d(?:\.\d)?\s*$|(?:GET|POST|PUT|HEAD|OPTIONS) \/|host:|origin:|user-agent:)/i;

export function looksLikeHttp(line: string): boolean {
  return HTTP_LINE.test(line);
}

export class HubGate {
  constructor(
    private readonly trust: TrustPolicy,
    private readonly refusals: RefusalLog,
    /** Replies (NOTICES) a connection may always send to the hub: they are never answered. */
    private readonly notices: ReadonlySet<string>,
    /** The hub's admin token, once it has one. */
    private readonly adminToken: () => string | undefined = () => undefined,
  ) {}

  /** The grant a new connection starts with, from where it came. */
  grantAt(channel: Channel, kind: ConnectionKind): Grant {
    if (kind === 'memory') return this.trust.anonymous('internal');
    if (kind === 'unix') return this.trust.anonymous('unix');
    if (kind === 'secure' && channel.peerSubject !== undefined) {
      const byCertificate = this.trust.byCertificate(channel.peerSubject);
      if (byCertificate) return byCertificate;
    }
    return this.byAddress(channel.remoteAddress);
  }

  /** An unauthenticated peer: `local` on loopback, `network` from elsewhere. */
  byAddress(remote: string): Grant {
    return this.trust.anonymous(isLoopbackAddress(remote) ? 'loopback' : 'network');
  }

  /** Why `grant` may not send `command` to `service` (a hub command when empty); undefined when it may. */
  check(grant: Grant, service: string, command: string): Refusal | undefined {
    if (grant.all) return undefined;
    if (service === '')
      return this.notices.has(command) || grant.mayUse(command) ? undefined : grant.commandRefusal(command);
    if (isBroadcast(service)) return grant.mayBroadcast(command) ? undefined : grant.broadcastRefusal(command);
    return grant.maySend(service) ? undefined : grant.sendRefusal(service);
  }

  /** The message layer's per-line check: undefined admits the line; a refusal is recorded and its sentence returned. */
  admit(conn: HubConnection, service: string, command: string): string | undefined {
    const grant = conn.grant;
    if (grant.all) return undefined;
    // A hub link on the TLS listener speaks first; the mesh checks its credentials.
    if (conn.firstLine && conn.kind === 'secure' && service === '' && (command === 'CONNECT' || command === 'GOSSIP'))
      return undefined;
    const refusal = this.check(grant, service, command);
    if (refusal === undefined) return undefined;
    this.record(conn, refusal, service === '' ? command : `${service}/${command}`);
    return refusal.message;
  }

  /**
   * Who signs a cluster command `conn` sent: the identity of the token it proved itself with,
   * or, for an admin by other means (the owner's Unix socket, the signal secret), the admin token.
   */
  signerOf(conn: HubConnection): Signer | undefined {
    if (conn.tokenDigest !== undefined && conn.grant.proof === 'token')
      return { identity: conn.grant.identity, digest: conn.tokenDigest };
    const admin = this.adminToken();
    if (conn.grant.all && admin !== undefined) return { identity: 'admin', digest: tokenDigest(admin) };
    return undefined;
  }

  /**
   * A message from another hub (a mesh link, the backplane) for a service here. Its hub checked
   * its sender, but whoever can reach a plain link's port or publish on the backplane is no hub,
   * so messages from afar get what an unauthenticated network connection gets (`network_role`):
   * the built-in services (`sync` holds every account's options) are reached through their own
   * hub, except by the same built-in service of another hub (discovery talks to discovery).
   */
  admitsRemote(msg: Message): boolean {
    const service = msg.to.service;
    if (service === '' || isBroadcast(service)) return true;
    const remote = this.trust.anonymous('network');
    if (remote.maySend(service)) return true;
    // The same built-in service of another hub (discovery to discovery): a sender name can be
    // claimed by whoever writes on a plain link, so only the same service, never another one.
    const from = msg.sentFrom.service;
    if (baseName(from) === baseName(service) && this.trust.reserved.has(baseName(from))) return true;
    const refusal = remote.sendRefusal(service);
    this.refusals.record(
      'send',
      { who: `${msg.sentFrom.server}:${from}`, rule: refusal.rule, what: `${service}/${msg.command}` },
      `a message from hub ${msg.sentFrom.server} (${from || 'no service'}) to ${service} was dropped: messages from other hubs get ${remote.who}'s grant, and it may not send to "${service}"`,
    );
    return false;
  }

  /** Counts and logs (once per kind) a refusal to `conn`. */
  record(conn: HubConnection, refusal: Refusal, what: string): void {
    this.refusals.record(
      refusal.reason,
      { who: conn.grant.identity, rule: refusal.rule, remote: conn.channel.remoteAddress, what },
      refusal.message,
    );
  }

  /**
   * `AUTH token=` / REGISTER `password=`: the connection speaks for the identity the token proves
   * from now on. A token that proves nobody is a refusal (the connection keeps its grant).
   */
  authenticate(conn: HubConnection, token: string | undefined, via: string): Refusal | undefined {
    const grant = token === undefined || token === '' ? undefined : this.trust.byToken(token);
    if (grant) {
      conn.grant = grant;
      conn.tokenDigest = tokenDigest(token!);
      return undefined;
    }
    conn.authFailures++;
    return {
      reason: 'auth',
      rule: 'auth',
      message:
        token === undefined || token === ''
          ? `${via} needs ${via === 'AUTH' ? 'token' : 'password'}=<token>`
          : `the ${via === 'AUTH' ? 'token' : 'password'} proves no identity of this hub; this connection stays ${conn.grant.who}` +
            (conn.authFailures >= MAX_AUTH_FAILURES
              ? `; ${MAX_AUTH_FAILURES} failed attempts: closing the connection`
              : ''),
    };
  }

  /** A line that is HTTP, not the hub's protocol: counted and logged once; the caller closes the connection. */
  crossProtocol(conn: HubConnection, line: string): void {
    this.refusals.record(
      'http',
      { remote: conn.channel.remoteAddress, rule: 'http', what: conn.kind },
      `a ${conn.kind} connection from ${conn.channel.remoteAddress} sent an HTTP request (${JSON.stringify(line.slice(0, 40))}): a web page or an HTTP client reaching the hub's port, possibly a cross-protocol attack; connection closed`,
    );
  }
}

/** Parameters that carry a credential: never shown to a sniffer or written to a log. */
const SECRET_PARAMS = ['token', 'password', 'secret_code'];

/** `msg` as a sniffer or the debug log may see it: AUTH's token and REGISTER's password as `***`. */
export function withoutSecrets(msg: Message): Message {
  if (msg.command !== 'AUTH' && msg.command !== 'REGISTER') return msg;
  if (!SECRET_PARAMS.some((k) => msg.params[k] !== undefined)) return msg;
  const params = { ...msg.params };
  for (const k of SECRET_PARAMS) if (params[k] !== undefined) params[k] = '***';
  return { ...msg, params };
}
