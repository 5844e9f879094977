/**
 * This hub's own LOADAVG for local connections: a service sends `REGISTER_FOR_LOADAVG` and gets
 * `LOADAVG avg;my_address;timestamp` at once, then whenever the load moved by 0.1 or more (read once
 * a second while anyone is registered), until `UNREGISTER_FROM_LOADAVG` or its connection closes.
 * `my_address` is the hub address the connection came in on. Other hubs' readings come through the
 * mesh (src/mesh/loadavg.ts, `LISTEN_LOADAVG`).
 */
import { LOADAVG_INTERVAL_MS, loadAvgParams, loadChanged } from '../core/protocol/index.js';
import { sampleLoad } from '../core/system-load.js';
import type { JsonValue } from '../core/message.js';
import type { HubConnection } from './connection.js';

export interface LocalLoadAvgDeps {
  tell(conn: HubConnection, command: string, params: Record<string, JsonValue>): void;
  sample?: () => number;
  intervalMs?: number;
}

export class LocalLoadAvg {
  private readonly subscribers = new Set<HubConnection>();
  private timer: NodeJS.Timeout | undefined;
  private last: number | undefined;
  private readonly sample: () => number;

  constructor(private readonly d: LocalLoadAvgDeps) {
    this.sample = d.sample ?? sampleLoad;
  }

  get size(): number {
    return this.subscribers.size;
  }

  add(conn: HubConnection): void {
    this.subscribers.add(conn);
    const avg = this.sample();
    // A changed reading goes to everyone; otherwise only the newcomer needs one now.
    if (loadChanged(this.last, avg)) this.sendAll(avg);
    else this.send(conn, avg);
    this.timer ??= setInterval(() => this.tick(), this.d.intervalMs ?? LOADAVG_INTERVAL_MS).unref();
  }

  remove(conn: HubConnection): void {
    this.subscribers.delete(conn);
    if (this.subscribers.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  private tick(): void {
    for (const conn of this.subscribers) if (!conn.open) this.subscribers.delete(conn);
    if (this.subscribers.size === 0) return this.stop();
    const avg = this.sample();
    if (loadChanged(this.last, avg)) this.sendAll(avg);
  }

  private sendAll(avg: number): void {
    for (const conn of this.subscribers) this.send(conn, avg);
    this.last = avg;
  }

  private send(conn: HubConnection, avg: number): void {
    if (conn.open) this.d.tell(conn, 'LOADAVG', loadAvgParams(avg, conn.localAddress, Date.now()));
  }
}
