/**
 * A loopback TCP relay between a hub and one of its connections (a discovery agent), for ordering
 * tests: what the hub writes can be held here, as if the reader had not got to it yet, and released
 * in order; what the connection writes to the hub always flows. Nothing is changed on the way.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { parseAddress } from '../../core/address.js';

export class HeldRelay {
  private holding = false;
  private refusing = false;
  private held: { to: Socket; chunk: Buffer }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly upstreams = new Set<Socket>();

  private readonly server: Server;
  private port = 0;

  private constructor(hubUrl: string) {
    const hub = parseAddress(hubUrl);
    this.server = createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      const upstream = netConnect(hub.port, hub.host);
      this.upstreams.add(upstream);
      upstream.on('close', () => this.upstreams.delete(upstream));
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (this.holding) this.held.push({ to: client, chunk });
        else client.write(chunk);
      });
    });
  }

  /** A relay to the hub listening at `hubUrl` (a `cd://host:port` address). */
  static async start(hubUrl: string): Promise<HeldRelay> {
    const relay = new HeldRelay(hubUrl);
    await new Promise<void>((resolve, reject) => {
      relay.server.once('error', reject);
      relay.server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = relay.server.address();
    relay.port = typeof addr === 'object' && addr ? addr.port : 0;
    return relay;
  }

  /** `cd://127.0.0.1:<port>`: give it to the connection instead of the hub's address. */
  get url(): string {
    return `cd://127.0.0.1:${this.port}`;
  }

  /** From now on, what the hub writes waits here. */
  hold(): void {
    this.holding = true;
  }

  /** What the hub wrote since hold(), not yet passed on. */
  heldText(): string {
    return this.held.map((h) => h.chunk.toString('utf8')).join('');
  }

  /**
   * Passes on what was held up to the end of the first line containing `text`; the rest stays
   * held (and what comes next too). False when no held line contains it.
   */
  releaseThrough(text: string): boolean {
    const all = Buffer.concat(this.held.map((h) => h.chunk));
    const at = all.indexOf(text);
    if (at === -1) return false;
    const eol = all.indexOf('\n', at);
    const end = eol === -1 ? all.length : eol + 1;
    const to = this.held[0]!.to;
    if (this.held.some((h) => h.to !== to)) throw new Error('releaseThrough: held bytes of more than one connection');
    to.write(all.subarray(0, end));
    this.held = end < all.length ? [{ to, chunk: all.subarray(end) }] : [];
    return true;
  }

  /** Passes on what was held, in order, and lets the hub's writes flow again. */
  release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const { to, chunk } of held) to.write(chunk);
  }

  /**
   * Stops reading what the hub writes, as a reader that stopped would: the kernel's buffers fill,
   * then the hub's queue for the connection, and the hub starts dropping for it. unstall() reads again.
   */
  stall(): void {
    for (const u of this.upstreams) u.pause();
  }

  unstall(): void {
    for (const u of this.upstreams) u.resume();
  }

  /** Cuts the connections through the relay and refuses new ones until mend(): the link is down. */
  cut(): void {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }

  /** Accepts connections again after cut(). */
  mend(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
