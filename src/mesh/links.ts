/**
 * Hub-to-hub links: the remote listeners (plain `cd:` on a private address, TLS `cds:` with
 * credentials), dialing neighbors by the link rule (larger address CONNECTs, smaller GOSSIPs),
 * the CONNECT/ACCEPT/REFUSE handshake, retries, and the block list for bad credentials.
 */
import type { Channel } from '../core/channel.js';
import { MessageConnection } from '../core/message-connection.js';
import type { JsonValue, Message } from '../core/message.js';
import { ConnectionError, errorMessage, InvalidArgumentError, InvalidMessageError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { assertPlainListenHost, formatHubAddress, parseHubAddress, type HubAddress } from './address-order.js';
import { AuthGuard, type BlockedAddress } from './auth-guard.js';
import { reconnectDelay, type RetryReason } from './backoff.js';
import type { Clock } from './clock.js';
import { exchangeFirst, readFirst, type Early } from './handshake.js';
import {
  AcceptParams,
  ConnectParams,
  GossipParams,
  PROTOCOL_VERSION,
  controlMessage,
  readParams,
  readRefuse,
  refuseMessage,
} from './link-protocol.js';
import { dialLink, listenLinks, type LinkListener, type TlsFiles } from './link-transport.js';
import { NeighborBook, redactUrl, type Neighbor } from './neighbors.js';
import { RemoteLink } from './remote-link.js';
import type { MeshTimings } from './timings.js';

export interface LinksConfig {
  serverName: string;
  /** `cd://<private ip>:<port>` (plain links) or `cds://user:pass@<ip>:<port>` (TLS links). */
  remoteListen?: string;
  /** `cds://user:pass@<ip>:<port>`: TLS links; peers must present these credentials. */
  secureListen?: string;
  /**
   * True when the hub itself listens on `secureListen` (services connect there too) and hands
   * hub links over through `Links.acceptLink`; false/absent: the mesh listens on it.
   */
  secureListenShared?: boolean;
  tls?: TlsFiles;
  /** The IP announced to other hubs (`my_address`) when it is not the listener's. */
  announceHost?: string;
  /** Neighbors from the command line and neighbors.txt (addresses or cd:/cds: URLs). */
  neighbors: string[];
  maxConnections: number;
  timings: MeshTimings;
}

export interface LinksEvents {
  linkUp(link: RemoteLink): void;
  linkDown(link: RemoteLink, disconnected: boolean, reason: string): void;
  unreachable(who: string, reason: string): void;
  neighborsChanged(): void;
  localServices(): string[];
  heardOf(): string[];
  shuttingDown(): boolean;
  /** This hub's boot epoch, announced in CONNECT/ACCEPT. */
  epoch(): number;
  /** The address of a hub named `name` reachable now through the mesh, if any. */
  reachableAt(name: string): string | undefined;
  /** An address was just blocked after repeated wrong credentials (the mesh tells firewall services: BLOCK). */
  blocked?(block: BlockedAddress): void;
}

interface Credentials {
  username: string;
  password: string;
}

function credentialsOf(url: string): Credentials | undefined {
  const m = /^cds:\/\/([^:@/]*):([^@/]*)@/.exec(url);
  return m ? { username: decodeURIComponent(m[1] ?? ''), password: decodeURIComponent(m[2] ?? '') } : undefined;
}

export class Links {
  readonly neighbors: NeighborBook;
  private readonly links = new Map<string, RemoteLink>();
  private readonly listeners: LinkListener[] = [];
  private readonly guard: AuthGuard;
  private readonly mine: HubAddress;
  private readonly secureCredentials: Credentials | undefined;
  private stopping = false;

  constructor(
    private readonly config: LinksConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly events: LinksEvents,
  ) {
    const own = config.remoteListen ?? config.secureListen;
    if (!own)
      throw new InvalidArgumentError(
        'the mesh needs --remote-listen (cd://<private ip>:port) or --secure-listen (cds://user:pass@ip:port)',
      );
    // Port 0 on --remote-listen: the listener picks one, and `mine` takes it in start().
    this.mine = parseHubAddress(own, own.startsWith('cds://') ? 4043 : 4042, own === config.remoteListen);
    const tlsUrls = [config.remoteListen, config.secureListen].filter(
      (u): u is string => u !== undefined && u.startsWith('cds://'),
    );
    if (config.remoteListen && !config.remoteListen.startsWith('cds://')) assertPlainListenHost(this.mine.host);
    // As in the communicator, peers are told my_address (with the listener's port), not the bound IP.
    if (config.announceHost) this.mine.host = config.announceHost;
    for (const url of tlsUrls) {
      const creds = credentialsOf(url);
      if (!creds)
        throw new InvalidArgumentError(
          `TLS hub links need credentials that peers must present: cds://user:password@${formatHubAddress(parseHubAddress(url, 4043))}`,
        );
      this.secureCredentials ??= creds;
      if (!config.tls?.certificate || !config.tls.privateKey)
        throw new InvalidArgumentError(`${redactUrl(url)} needs --certificate and --private-key (PEM files)`);
    }
    this.guard = new AuthGuard(clock, config.timings);
    this.neighbors = new NeighborBook(this.mine, clock, config.timings);
  }

  get myAddress(): string {
    return formatHubAddress(this.mine);
  }

  get count(): number {
    return this.links.size;
  }

  get(server: string): RemoteLink | undefined {
    return this.links.get(server);
  }

  all(): RemoteLink[] {
    return [...this.links.values()];
  }

  listenUrls(): string[] {
    return this.listeners.map((l) => l.address);
  }

  blocked(): BlockedAddress[] {
    return this.guard.list();
  }

  async start(): Promise<string> {
    const own = [
      this.config.remoteListen,
      this.config.secureListenShared ? undefined : this.config.secureListen,
    ].filter((u): u is string => u !== undefined);
    for (const given of own) {
      const secure = given.startsWith('cds://');
      const url = `${secure ? 'cds' : 'cd'}://${formatHubAddress(parseHubAddress(given, secure ? 4043 : 4042, given === this.config.remoteListen))}`;
      const listener = await listenLinks(
        url,
        secure ? this.config.tls : undefined,
        (ip) => this.guard.isBlocked(ip),
        (ch, ip) => this.onIncoming(ch, ip, secure),
      );
      this.listeners.push(listener);
      if (given === this.config.remoteListen && this.mine.port === 0)
        this.mine.port = parseHubAddress(listener.address).port;
    }
    for (const spec of this.config.neighbors) this.addNeighbor(spec, false);
    this.events.neighborsChanged();
    for (const n of this.neighbors.all()) this.schedule(n, 'initial');
    this.log.info(
      { address: this.myAddress, neighbors: this.neighbors.all().map((n) => redactUrl(n.url)) },
      'mesh listening',
    );
    return this.myAddress;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.neighbors.stopAll();
    for (const link of this.links.values()) {
      link.send(controlMessage('DISCONNECT', { server_name: this.config.serverName }));
      link.close('hub stopping');
    }
    this.links.clear();
    await Promise.all(this.listeners.map((l) => l.close()));
  }

  /** FORGET: drops every neighbor on `ip` (or `ip:port`); true when one was known. */
  forget(ip: string): boolean {
    const found = this.neighbors.find(ip);
    for (const n of found) {
      this.neighbors.remove(n.key);
      if (n.server) this.links.get(n.server)?.close('forgotten');
    }
    if (found.length) this.events.neighborsChanged();
    return found.length > 0;
  }

  private addNeighbor(spec: string, persist: boolean): Neighbor | undefined {
    let n: Neighbor | undefined;
    try {
      const before = this.neighbors.all().length;
      n = this.neighbors.add(spec, this.secureCredentials);
      if (persist && this.neighbors.all().length !== before) this.events.neighborsChanged();
    } catch (err) {
      this.log.warn({ neighbor: spec, err: errorMessage(err) }, 'neighbor ignored');
    }
    return n;
  }

  private schedule(n: Neighbor, reason: RetryReason): void {
    if (this.stopping || n.state !== 'idle') return;
    if (n.role === 'connect') {
      n.retry.schedule(reconnectDelay(this.config.timings, reason), () => void this.dial(n));
    } else {
      const delay =
        reason === 'initial'
          ? 0
          : reason === 'disconnect'
            ? this.config.timings.reconnectAfterDisconnectMs
            : n.gossip.next();
      n.retry.schedule(delay, () => void this.gossip(n));
    }
  }

  private hello(): Record<string, string> {
    return {
      version: String(PROTOCOL_VERSION),
      my_address: this.myAddress,
      server_name: this.config.serverName,
      neighbors: this.neighbors
        .all()
        .map((x) => x.key)
        .join(','),
      services: this.events.localServices().join(','),
      heard_of: this.events.heardOf().join(','),
      epoch: String(this.events.epoch()),
    };
  }

  // ---- dialing ---------------------------------------------------------------------------

  private async dial(n: Neighbor): Promise<void> {
    if (this.stopping || n.state !== 'idle') return;
    n.state = 'connecting';
    let channel: MessageConnection | undefined;
    try {
      channel = linkMessages(
        await dialLink(n.url, {
          localHost: this.mine.host,
          tls: n.secure ? this.config.tls : undefined,
          timeoutMs: this.config.timings.handshakeTimeoutMs,
        }),
      );
      const creds = credentialsOf(n.url);
      const { msg: answer, takeRest } = await exchangeFirst(
        channel,
        controlMessage('CONNECT', {
          ...this.hello(),
          ...(creds ? { username: creds.username, password: creds.password } : {}),
        }),
        this.clock,
        this.config.timings.handshakeTimeoutMs,
      );
      if (this.stopping) throw new ConnectionError('CONNECTION_CLOSED', 'stopping');
      if (answer.command === 'REFUSE') {
        const r = readRefuse(answer);
        channel.close();
        n.state = 'idle';
        n.lastError =
          r.kind === 'conflict'
            ? `refused: name conflict (${r.name})`
            : r.kind === 'shutdown'
              ? 'refused: the hub is shutting down'
              : 'refused: too many connections';
        this.log.warn({ neighbor: n.key, reason: n.lastError }, 'hub refused our CONNECT');
        this.schedule(n, r.kind === 'too-many' ? 'failed' : 'disconnect');
        return;
      }
      if (answer.command !== 'ACCEPT')
        throw new InvalidMessageError(`expected ACCEPT or REFUSE, got ${answer.command}`);
      const accept = readParams('ACCEPT', AcceptParams, answer.params);
      if (accept.server_name === this.config.serverName || this.links.has(accept.server_name)) {
        channel.close();
        n.state = 'idle';
        n.lastError = `already linked to ${accept.server_name}`;
        this.schedule(n, 'disconnect');
        return;
      }
      const other = this.nameTakenElsewhere(accept.server_name, accept.my_address);
      if (other) {
        channel.close();
        n.state = 'idle';
        n.lastError = `name conflict: ${accept.server_name} is already the hub at ${other}`;
        this.log.error(
          { neighbor: n.key, server: accept.server_name, other },
          'a neighbor uses the name of another hub in the cluster; not linking',
        );
        this.schedule(n, 'disconnect');
        return;
      }
      this.adopt(n, channel, takeRest, accept.server_name, Number(accept.epoch ?? 0) || 0, true);
    } catch (err) {
      channel?.close();
      n.state = 'idle';
      n.lastError = errorMessage(err);
      if (this.stopping) return;
      (n.toldUnreachable ? this.log.debug : this.log.info).call(
        this.log,
        { neighbor: n.key, err: n.lastError },
        'could not link to hub',
      );
      if (!n.toldUnreachable) {
        n.toldUnreachable = true;
        this.events.unreachable(n.key, n.lastError);
      }
      this.schedule(n, 'failed');
    }
  }

  private async gossip(n: Neighbor): Promise<void> {
    if (this.stopping || n.state !== 'idle') return;
    let channel: MessageConnection | undefined;
    try {
      channel = linkMessages(
        await dialLink(n.url, {
          localHost: this.mine.host,
          tls: n.secure ? this.config.tls : undefined,
          timeoutMs: this.config.timings.handshakeTimeoutMs,
        }),
      );
      const creds = credentialsOf(n.url);
      await exchangeFirst(
        channel,
        controlMessage('GOSSIP', {
          my_address: this.myAddress,
          ...(creds ? { username: creds.username, password: creds.password } : {}),
        }),
        this.clock,
        this.config.timings.handshakeTimeoutMs,
      );
    } catch (err) {
      n.lastError = errorMessage(err);
    } finally {
      channel?.close();
    }
    // Keep asking (with back-off) until the larger hub has dialed us.
    if (n.state === 'idle') this.schedule(n, 'failed');
  }

  // ---- accepting -------------------------------------------------------------------------

  private onIncoming(incoming: Channel, sourceIp: string, secure: boolean): void {
    if (this.guard.isBlocked(sourceIp)) {
      incoming.close();
      return;
    }
    const channel = linkMessages(incoming);
    readFirst(channel, this.clock, this.config.timings.handshakeTimeoutMs).then(
      ({ msg, takeRest }) => this.onFirstMessage(channel, sourceIp, secure, msg.command, msg.params, takeRest),
      (err: unknown) => {
        this.log.debug({ from: sourceIp, err: errorMessage(err) }, 'incoming hub connection dropped');
        channel.close();
      },
    );
  }

  /**
   * A connection on the hub's own TLS listener whose first message is CONNECT or GOSSIP: the hub
   * hands it over (and forgets it). Blocked addresses are closed without a reply.
   */
  acceptLink(channel: Channel, first: Message, sourceIp: string): void {
    if (this.guard.isBlocked(sourceIp)) {
      channel.close();
      return;
    }
    this.onFirstMessage(linkMessages(channel), sourceIp, true, first.command, first.params, () => []);
  }

  private checkCredentials(sourceIp: string, params: Record<string, unknown>): boolean {
    const want = this.secureCredentials;
    if (want && params.username === want.username && params.password === want.password) {
      this.guard.recordSuccess(sourceIp);
      return true;
    }
    const block = this.guard.recordFailure(sourceIp);
    this.log.warn(
      { from: sourceIp, user: typeof params.username === 'string' ? params.username : undefined },
      'hub link with wrong credentials (no reply)',
    );
    if (block) {
      this.log.error(
        { from: sourceIp, until: new Date(block.until).toISOString(), failures: block.failures },
        'address blocked after repeated wrong credentials',
      );
      this.events.blocked?.(block);
    }
    return false;
  }

  private onFirstMessage(
    channel: MessageConnection,
    sourceIp: string,
    secure: boolean,
    command: string,
    params: Record<string, JsonValue>,
    takeRest: () => Early[],
  ): void {
    try {
      if (command === 'GOSSIP') {
        const g = readParams('GOSSIP', GossipParams, params);
        if (secure && !this.checkCredentials(sourceIp, g)) {
          channel.close();
          return;
        }
        channel.send(controlMessage('RECEIVED'));
        channel.close();
        const n = this.addNeighbor(secure ? `cds://${g.my_address}` : g.my_address, true);
        if (n && n.role === 'connect' && n.state === 'idle') {
          n.retry.cancel();
          void this.dial(n);
        }
        return;
      }
      if (command !== 'CONNECT') throw new InvalidMessageError(`expected CONNECT or GOSSIP, got ${command}`);
      const c: ConnectParams = readParams('CONNECT', ConnectParams, params);
      if (secure && !this.checkCredentials(sourceIp, c)) {
        channel.close();
        return;
      }
      const refuse = this.refusal(c);
      if (refuse) {
        channel.send(refuseMessage(refuse));
        channel.close();
        return;
      }
      channel.send(controlMessage('ACCEPT', { ...this.hello(), version: String(PROTOCOL_VERSION) }));
      const n = this.addNeighbor(secure ? `cds://${c.my_address}` : c.my_address, true);
      if (n) {
        n.retry.cancel();
        n.state = 'idle';
      }
      this.adopt(n, channel, takeRest, c.server_name, Number(c.epoch ?? 0) || 0, false, c.my_address, secure);
    } catch (err) {
      this.log.warn({ from: sourceIp, err: errorMessage(err) }, 'bad hub handshake');
      channel.close();
    }
  }

  private refusal(c: ConnectParams): Parameters<typeof refuseMessage>[0] | undefined {
    if (this.stopping || this.events.shuttingDown()) return { kind: 'shutdown' };
    if (c.server_name === this.config.serverName) return { kind: 'conflict', name: c.server_name };
    const existing = this.links.get(c.server_name);
    if (existing) {
      // The same hub coming back before we noticed its old link die: the new link wins.
      if (existing.info.address === c.my_address) existing.close('replaced by a new link from the same hub');
      else return { kind: 'conflict', name: c.server_name };
    } else if (this.nameTakenElsewhere(c.server_name, c.my_address)) {
      // Not our neighbor, but a hub of that name is reachable through the mesh at another address:
      // linking would give the cluster two states for one name.
      this.log.error(
        { server: c.server_name, from: c.my_address, other: this.events.reachableAt(c.server_name) },
        'a hub asked to link with the name of another hub in the cluster; refused',
      );
      return { kind: 'conflict', name: c.server_name };
    }
    if (this.links.size >= this.config.maxConnections) return { kind: 'too-many' };
    return undefined;
  }

  /** The address of another hub that already goes by `name` (reachable now, at a different address). */
  private nameTakenElsewhere(name: string, address: string): string | undefined {
    const known = this.events.reachableAt(name);
    return known && known !== address ? known : undefined;
  }

  /** A handshake succeeded: the channel becomes a RemoteLink. */
  private adopt(
    n: Neighbor | undefined,
    channel: MessageConnection,
    takeRest: () => Early[],
    server: string,
    epoch: number,
    outgoing: boolean,
    address = n?.key ?? '',
    secure = n?.secure ?? false,
  ): void {
    const early = takeRest();
    if (!channel.open) {
      if (n) {
        n.state = 'idle';
        this.schedule(n, 'lost');
      }
      return;
    }
    const link = new RemoteLink(
      { server, address, outgoing, secure, epoch },
      channel,
      this.clock,
      this.config.timings.keepAliveMs,
    );
    this.links.set(server, link);
    if (n) {
      n.state = 'linked';
      n.server = server;
      n.toldUnreachable = false;
      delete n.lastError;
      n.gossip.reset();
      n.retry.cancel();
    }
    this.log.info({ peer: server, address, outgoing }, 'hub linked');
    link.on('invalid', (why) => this.log.warn({ peer: server, why }, 'bad line on hub link'));
    link.on('close', ({ disconnected, reason }) => {
      if (this.links.get(server) === link) this.links.delete(server);
      const nb = this.neighbors.get(address);
      if (nb && nb.state === 'linked' && nb.server === server) nb.state = 'idle';
      this.events.linkDown(link, disconnected, reason);
      if (nb && !this.stopping) this.schedule(nb, disconnected ? 'disconnect' : 'lost');
    });
    this.events.linkUp(link);
    link.replay(early);
  }
}

/** A hub link's message layer: JSON lines both ways (lossless). */
function linkMessages(channel: Channel): MessageConnection {
  return new MessageConnection(channel, { format: 'json' });
}
