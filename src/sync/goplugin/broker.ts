/**
 * go-plugin's GRPCBroker, for either side: over the `plugin.GRPCBroker/StartStream` stream each
 * side announces brokered listeners as `ConnInfo{service_id, network, address}`. `accept(id)`
 * opens a listener, serves a gRPC server there and announces it; `dial(id)` waits (5 s) for the
 * other side's announcement and connects. Unclaimed announcements are dropped after 5 s. With
 * `preconnect` the connection is opened as soon as the announcement arrives, so the `dial` that
 * follows (the plugin's, once Sync has come with the id) finds it ready.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Server, type ChannelOptions } from '@grpc/grpc-js';
import { GRPC_SIZE_OPTIONS, type ConnInfo } from '../proto/index.js';
import { ConnectionError, TimeoutError } from '../../core/errors.js';
import { widenReceiveWindow } from './grpc-window.js';
import { clientCredentials, serverCredentials, type TlsMaterial } from './mtls.js';

/** The stream both sides hold: grpc-js's client and server duplex calls both fit. */
export interface ConnInfoStream {
  write(info: ConnInfo): boolean;
  end(): void;
  on(event: 'data', listener: (info: ConnInfo) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

export const BROKER_WAIT_MS = 5000;

interface Announcement {
  info: ConnInfo;
  timer: NodeJS.Timeout;
  /** The connection opened on arrival (`preconnect`). */
  early?: Promise<Client>;
}

interface Waiter {
  resolve: (info: ConnInfo) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface BrokeredServer {
  id: number;
  address: string;
  close(): Promise<void>;
}

export class GrpcBroker {
  private stream: ConnInfoStream | undefined;
  private readonly unclaimed = new Map<number, Announcement>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly servers = new Set<BrokeredServer>();
  private readonly clients = new Set<Client>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly tls: TlsMaterial | undefined,
    private readonly network: 'unix' | 'tcp' = 'unix',
    private readonly options: { preconnect?: boolean } = {},
  ) {}

  /** Takes the StartStream call (the host opens it; the plugin receives it). */
  attach(stream: ConnInfoStream): void {
    this.stream = stream;
    stream.on('data', (info) => this.onConnInfo(info));
    stream.on('error', () => {
      /* the session's end shows up as a closed stream; waiters time out */
    });
    stream.on('end', () => {
      if (this.stream === stream) this.stream = undefined;
    });
  }

  /** go-plugin's NextId: ids start at 1. */
  nextBrokerId(): number {
    return ++this.nextId;
  }

  private onConnInfo(info: ConnInfo): void {
    const waiter = this.waiters.get(info.serviceId);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(info.serviceId);
      waiter.resolve(info);
      return;
    }
    const previous = this.unclaimed.get(info.serviceId);
    if (previous) this.drop(previous);
    const early = this.options.preconnect ? this.connect(info, BROKER_WAIT_MS) : undefined;
    early?.catch(() => {}); // a failure reaches the dial that takes it
    const announcement: Announcement = { info, timer: setTimeout(() => this.drop(announcement), BROKER_WAIT_MS) };
    if (early) announcement.early = early;
    announcement.timer.unref();
    this.unclaimed.set(info.serviceId, announcement);
  }

  /** Forgets an announcement nobody dialled, closing its early connection. */
  private drop(announcement: Announcement): void {
    clearTimeout(announcement.timer);
    if (this.unclaimed.get(announcement.info.serviceId) === announcement)
      this.unclaimed.delete(announcement.info.serviceId);
    void announcement.early?.then(
      (client) => {
        client.close();
        this.clients.delete(client);
      },
      () => {},
    );
  }

  /** Opens a listener, serves what `register` adds on it, and announces it under `id`. */
  async accept(id: number, register: (server: Server) => void): Promise<BrokeredServer> {
    if (this.closed) throw new ConnectionError('CONNECTION_CLOSED', 'the plugin broker is closed');
    const stream = this.stream;
    if (!stream)
      throw new ConnectionError('CONNECTION_CLOSED', 'the plugin broker has no stream (StartStream is not open)');
    const server = new Server({ ...GRPC_SIZE_OPTIONS });
    register(server);
    let dir: string | undefined;
    let target: string;
    if (this.network === 'unix') {
      dir = await mkdtemp(join(tmpdir(), 'plugin-broker-'));
      target = `unix:${join(dir, `${id}.sock`)}`;
    } else {
      target = '127.0.0.1:0';
    }
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, serverCredentials(this.tls), (err, p) => (err ? reject(err) : resolve(p)));
    });
    widenReceiveWindow(server);
    const address = this.network === 'unix' ? target.slice('unix:'.length) : `127.0.0.1:${port}`;
    const brokered: BrokeredServer = {
      id,
      address,
      close: async () => {
        this.servers.delete(brokered);
        server.forceShutdown();
        if (dir) await rm(dir, { recursive: true, force: true });
      },
    };
    this.servers.add(brokered);
    stream.write({ serviceId: id, network: this.network, address });
    return brokered;
  }

  /** Waits up to 5 s for the other side to announce `id`, then connects to it (or takes the early connection). */
  async dial(id: number, waitMs = BROKER_WAIT_MS): Promise<Client> {
    const announced = this.unclaimed.get(id);
    if (announced?.early) {
      clearTimeout(announced.timer);
      this.unclaimed.delete(id);
      return announced.early;
    }
    return this.connect(await this.waitFor(id, waitMs), waitMs);
  }

  private async connect(info: ConnInfo, waitMs: number): Promise<Client> {
    const id = info.serviceId;
    if (info.network !== 'unix' && info.network !== 'tcp') {
      throw new ConnectionError(
        'CONNECTION_FAILED',
        `the plugin broker announced id ${id} on unknown network ${JSON.stringify(info.network)}`,
      );
    }
    const target = info.network === 'unix' ? `unix:${info.address}` : info.address;
    const { creds, options } = clientCredentials(this.tls);
    const channelOptions: ChannelOptions = { ...GRPC_SIZE_OPTIONS, ...options };
    const client = new Client(target, creds, channelOptions);
    this.clients.add(client);
    await new Promise<void>((resolve, reject) => {
      client.waitForReady(Date.now() + waitMs, (err) =>
        err
          ? reject(
              new ConnectionError(
                'CONNECTION_FAILED',
                `could not connect to brokered service ${id} at ${info.address}: ${err.message}`,
                { cause: err },
              ),
            )
          : resolve(),
      );
    }).catch((err: unknown) => {
      client.close();
      this.clients.delete(client);
      throw err;
    });
    return client;
  }

  private waitFor(id: number, waitMs: number): Promise<ConnInfo> {
    const ready = this.unclaimed.get(id);
    if (ready) {
      clearTimeout(ready.timer);
      this.unclaimed.delete(id);
      return Promise.resolve(ready.info);
    }
    if (this.closed) return Promise.reject(new ConnectionError('CONNECTION_CLOSED', 'the plugin broker is closed'));
    return new Promise<ConnInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new TimeoutError(`timeout waiting for connection info for brokered service ${id} (${waitMs} ms)`));
      }, waitMs);
      this.waiters
        .get(id)
        ?.reject(new ConnectionError('CONNECTION_FAILED', `another dial of brokered service ${id} took over`));
      this.waiters.set(id, { resolve, reject, timer });
    });
  }

  /** Ends the stream, stops brokered servers, closes dialed connections, fails pending dials. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.stream?.end();
    } catch {
      /* already ended */
    }
    for (const announcement of this.unclaimed.values()) this.drop(announcement);
    for (const [, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new ConnectionError('CONNECTION_CLOSED', 'the plugin broker closed'));
    }
    this.waiters.clear();
    for (const c of this.clients) c.close();
    this.clients.clear();
    await Promise.all([...this.servers].map((s) => s.close()));
  }
}
