/**
 * The load-average exchange between hubs (the communicator's REGISTER_FOR_LOADAVG, LISTEN_LOADAVG
 * and LOADAVG). A local service sends `LISTEN_LOADAVG ips=<hubs>`; this hub then asks each of those
 * hubs, wherever it is in the cluster, with `REGISTER_FOR_LOADAVG` (again whenever that hub comes
 * back or restarts). A hub with subscribers reads its load once a second and sends
 * `LOADAVG avg;my_address;timestamp` to each of them when it moved by 0.1 or more (and at once to a
 * new subscriber). Readings that arrive go to the local services whose COMMANDS include LOADAVG,
 * sent from the hub that read them (the communicator keeps them in a file its clients read).
 *
 * These messages travel routed to a hub (`<hub>:` with no service, `cache=no`), so hubs that are
 * not neighbors exchange them through the hubs between; a subscriber that becomes unreachable is
 * dropped.
 */
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import type { Logger } from '../core/log.js';
import {
  LOADAVG_INTERVAL_MS,
  MAX_LISTENED_HUBS,
  loadAvgParams,
  loadChanged,
  namesHub,
  readLoadAvg,
} from '../core/protocol/index.js';
import type { Clock, TimerHandle } from './clock.js';

/** The commands a hub sends to another hub for this exchange. */
export const LOADAVG_COMMANDS: ReadonlySet<string> = new Set([
  'REGISTER_FOR_LOADAVG',
  'UNREGISTER_FROM_LOADAVG',
  'LOADAVG',
]);

export interface ReachableHub {
  readonly name: string;
  /** Its mesh address (`ip:port`). */
  readonly address: string;
  /** Its boot epoch: a new one means it restarted and forgot its subscribers. */
  readonly epoch: number;
}

export interface MeshLoadAvgDeps {
  readonly serverName: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** This machine's 1-minute load per processor. */
  sample(): number;
  /** This hub's mesh address, announced in LOADAVG. */
  myAddress(): string;
  /** Other hubs reachable now. */
  reachable(): ReachableHub[];
  /** Sends a message to hub `target` (routed; false when there is no route). */
  sendToHub(target: string, msg: Message): boolean;
  /** Hands a reading to the local services that understand LOADAVG. */
  notifyLocal(msg: Message): void;
}

export class MeshLoadAvg {
  /** LISTEN_LOADAVG entries (names or addresses) from local services. */
  private readonly wanted = new Set<string>();
  /** Hubs asked with REGISTER_FOR_LOADAVG, by name, with the epoch they had then. */
  private readonly asked = new Map<string, number>();
  /** Hubs that asked us. */
  private readonly subscribers = new Set<string>();
  private last: number | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly d: MeshLoadAvgDeps) {}

  /** A local LISTEN_LOADAVG (entries already checked by core's parseListenedHubs); false when the list is full. */
  listen(entries: readonly string[]): boolean {
    for (const e of entries) {
      if (this.wanted.has(e)) continue;
      if (this.wanted.size >= MAX_LISTENED_HUBS) return false;
      this.wanted.add(e);
    }
    this.refresh();
    return true;
  }

  /** How many hubs this hub listens to and how many listen to it (for status and tests). */
  counts(): { wanted: number; asked: number; subscribers: number } {
    return { wanted: this.wanted.size, asked: this.asked.size, subscribers: this.subscribers.size };
  }

  /**
   * After the cluster graph changed: ask hubs that are wanted and reachable (again after a restart),
   * forget the ones that went, drop subscribers that cannot be reached.
   */
  refresh(): void {
    if (this.stopped) return;
    const reachable = this.d.reachable();
    const byName = new Map(reachable.map((h) => [h.name, h]));
    for (const name of [...this.asked.keys()]) if (!byName.has(name)) this.asked.delete(name);
    for (const name of [...this.subscribers]) if (!byName.has(name)) this.subscribers.delete(name);
    if (this.subscribers.size === 0) this.stopTimer();
    if (this.wanted.size === 0) return;
    for (const hub of reachable) {
      if (this.asked.get(hub.name) === hub.epoch) continue;
      if (![...this.wanted].some((e) => namesHub(e, hub))) continue;
      if (this.d.sendToHub(hub.name, this.hubMessage(hub.name, 'REGISTER_FOR_LOADAVG', {})))
        this.asked.set(hub.name, hub.epoch);
    }
  }

  /** A message for this hub from another hub: one of LOADAVG_COMMANDS. */
  onMessage(msg: Message): void {
    if (this.stopped) return;
    const from = msg.sentFrom.server;
    switch (msg.command) {
      case 'REGISTER_FOR_LOADAVG':
        if (from === '' || from === this.d.serverName) return;
        this.subscribers.add(from);
        this.startTimer();
        {
          // At once: a changed reading to everyone, else the current one to the newcomer only.
          const avg = this.d.sample();
          if (loadChanged(this.last, avg)) this.broadcastReading(avg);
          else this.sendReading([from], avg);
        }
        return;
      case 'UNREGISTER_FROM_LOADAVG':
        this.subscribers.delete(from);
        if (this.subscribers.size === 0) this.stopTimer();
        return;
      case 'LOADAVG': {
        const reading = readLoadAvg(msg.params);
        if (!reading.ok) {
          this.d.log.warn({ from, why: reading.error }, 'LOADAVG from a hub ignored');
          return;
        }
        const r = reading.value;
        this.d.notifyLocal(
          createMessage(
            'LOADAVG',
            { avg: String(r.avg), my_address: r.myAddress, timestamp: String(msg.params.timestamp) },
            { service: '*' },
            { server: from },
          ),
        );
        return;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.stopTimer();
  }

  private hubMessage(target: string, command: string, params: Record<string, JsonValue>): Message {
    // cache=no: a reading or a request that cannot go now is worthless later (the next one follows).
    return createMessage(command, { ...params, cache: 'no' }, { server: target }, { server: this.d.serverName });
  }

  private sendReading(to: Iterable<string>, avg: number): void {
    const params = loadAvgParams(avg, this.d.myAddress(), this.d.clock.now());
    for (const hub of to) this.d.sendToHub(hub, this.hubMessage(hub, 'LOADAVG', params));
  }

  private broadcastReading(avg: number): void {
    this.sendReading(this.subscribers, avg);
    this.last = avg;
  }

  private startTimer(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.d.clock.setTimer(LOADAVG_INTERVAL_MS, () => {
      this.timer = undefined;
      if (this.stopped || this.subscribers.size === 0) return;
      const avg = this.d.sample();
      if (loadChanged(this.last, avg)) this.broadcastReading(avg);
      this.startTimer();
    });
  }

  private stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
