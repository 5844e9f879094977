/**
 * Every routing decision of the hub, in the communicator's order: a live local instance
 * (round-robin, or `name#instance`); else the remote side (mesh) when the destination may be
 * elsewhere; else the cache rules (cache for a known service, SERVICE_UNAVAILABLE,
 * TRANSMISSION_REPORT). Broadcasts go to local instances whose COMMANDS list has the command.
 * The hot path is one map lookup, one encode per wire format and one queue write.
 */
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import type { Logger } from '../core/log.js';
import {
  DEFAULT_RULE,
  baseName,
  cacheRuleOf,
  instanceOf,
  isBroadcast,
  isThisHub,
  parseCacheRule,
  parseReportLevel,
  type CacheRule,
} from '../core/protocol/index.js';
import type { Cached, MessageCache } from './message-cache.js';
import type { HubConnection } from './connection.js';
import { Outgoing } from '../core/message-connection.js';
import type { InstanceEntry, ServiceCatalog } from './service-catalog.js';
import type { RemoteHooks } from './remote.js';
import type { SniffTap } from './sniff-tap.js';

export interface RouterDeps {
  serverName: string;
  services: ServiceCatalog<HubConnection>;
  cache: MessageCache<HubConnection>;
  tap: SniffTap;
  log: Logger;
  remote(): RemoteHooks | undefined;
}

export class Router {
  /** Messages delivered to a local connection / dropped because its queue was full. */
  readonly counters = { delivered: 0, dropped: 0, cached: 0, failed: 0, forwarded: 0, broadcast: 0 };

  constructor(private readonly d: RouterDeps) {}

  /**
   * A message from a local connection (already stamped). `sourceText`: the text line it was
   * decoded from, when nothing but the sender block changed since.
   */
  route(msg: Message, from: HubConnection | undefined, sourceText?: string): void {
    const service = msg.to.service;
    if (isBroadcast(service)) {
      const server = msg.to.server;
      // `?:*/X` is for remote hubs only and `C:*/X` for hub C only: not for this hub's services.
      if (isThisHub(server, this.d.serverName)) this.broadcastLocal(msg, from);
      if (service !== '.' && server !== '.' && server !== this.d.serverName) this.d.remote()?.broadcast(msg);
      return;
    }
    const server = msg.to.server;
    const self = this.d.serverName;
    const here = isThisHub(server, self);
    let rule: CacheRule = DEFAULT_RULE;
    if (msg.params.cache !== undefined) {
      const parsed = parseCacheRule(msg.params.cache);
      if (!parsed.ok) {
        this.answer(msg, from, 'INVALID', { command: msg.command, message: parsed.error });
        if (this.d.tap.active) this.d.tap.publish('refused', msg, undefined, parsed.error);
        return;
      }
      rule = parsed.value;
    }
    if (here && this.deliverLocal(msg, sourceText, from)) return;
    if (server !== '.' && server !== self) {
      const remote = this.d.remote();
      if (remote) {
        const outcome = remote.route(msg);
        if (outcome === 'forwarded') {
          this.counters.forwarded++;
          if (this.d.tap.active) this.d.tap.publish('forwarded', msg);
          return;
        }
        if (outcome === 'cached') {
          this.cached(msg, from);
          return;
        }
        if (outcome === 'failed') {
          this.failed(msg, from, rule, 'no route to the destination hub');
          return;
        }
      }
    }
    this.absent(msg, from, rule, here);
  }

  /** A unicast for this hub coming from the mesh: local instance or local cache rules, never back out. */
  routeFromRemote(msg: Message): void {
    if (isBroadcast(msg.to.service)) {
      this.broadcastLocal(msg, undefined);
      return;
    }
    if (!this.deliverLocal(msg)) this.absent(msg, undefined, cacheRuleOf(msg.params), true);
  }

  /** To every local instance that understands the command (but the sender's own connection). */
  broadcastLocal(msg: Message, from: HubConnection | undefined): void {
    const out = new Outgoing(msg);
    const tapping = this.d.tap.active;
    const reached: string[] | undefined = tapping ? [] : undefined;
    for (const inst of this.d.services.understanding(msg.command)) {
      if (inst.connection === from) continue;
      if (inst.connection.write(out)) {
        this.counters.delivered++;
        reached?.push(inst.id);
        if (from) inst.connection.holdBack(from);
      } else this.counters.dropped++;
    }
    this.counters.broadcast++;
    if (tapping) this.d.tap.publish('broadcast', msg, reached);
  }

  /**
   * Cached messages for an instance that just registered, in order, fed to its connection as it
   * reads (connection.ts, the backlog); what it never got goes back to the cache.
   */
  flushCache(inst: InstanceEntry<HubConnection>): number {
    const held = this.d.cache.take(inst.name, inst.instance);
    inst.connection.startBacklog(held, {
      queued: ({ msg }) => {
        this.counters.delivered++;
        if (this.d.tap.active) this.d.tap.publish('delivered', msg, [inst.id], 'from the cache');
      },
      unsent: (left) => this.d.cache.putBack(inst.name, left),
    });
    return held.length;
  }

  /** The live local instance for `name` or `name#id`. */
  pick(service: string): InstanceEntry<HubConnection> | undefined {
    const instance = instanceOf(service);
    if (instance === undefined) return this.d.services.get(service)?.pick();
    return this.d.services.get(baseName(service))?.find(instance);
  }

  /**
   * The fast path's delivery (hub.ts): `line` is already restamped and in the instance's format;
   * the caller made sure nothing needs the message itself (no sniffer, no cache rule, no report).
   * The tap's tally (dashboard metrics) still counts it, as `publish` would.
   */
  deliverLine(inst: InstanceEntry<HubConnection>, line: string, command: string, from: HubConnection): void {
    const ok = inst.connection.writeLine(line);
    if (ok) {
      this.counters.delivered++;
      inst.connection.holdBack(from);
    } else this.counters.dropped++;
    if (this.d.tap.counting) this.d.tap.countOne(ok ? 'delivered' : 'dropped', command);
  }

  private deliverLocal(msg: Message, sourceText?: string, from?: HubConnection): boolean {
    const inst = this.pick(msg.to.service);
    if (!inst) return false;
    this.deliverTo(inst, msg, sourceText, from);
    return true;
  }

  /** Delivers to an instance already picked (the fast path's fallback for an instance that reads JSON). */
  deliverTo(inst: InstanceEntry<HubConnection>, msg: Message, sourceText?: string, from?: HubConnection): void {
    if (inst.connection.write(new Outgoing(msg, sourceText))) {
      this.counters.delivered++;
      if (from) inst.connection.holdBack(from);
      if (this.d.tap.active) this.d.tap.publish('delivered', msg, [inst.id]);
    } else {
      this.counters.dropped++;
      if (this.d.tap.active)
        this.d.tap.publish('dropped', msg, [inst.id], 'the destination is not reading: its queue is full');
    }
  }

  private absent(msg: Message, from: HubConnection | undefined, rule: CacheRule, here: boolean): void {
    const service = msg.to.service;
    const name = baseName(service);
    const known = this.d.services.isKnown(name);
    if (here && !rule.noCache && (this.d.remote()?.hold?.(msg, rule.ttlSeconds, known) ?? false)) {
      this.cached(msg, from);
      return;
    }
    if (here && !rule.noCache && known) {
      const refused = this.d.cache.add(name, instanceOf(service), msg, rule.ttlSeconds, from);
      if (refused === undefined) this.cached(msg, from);
      else this.failed(msg, from, rule, refused);
      return;
    }
    const why = !here
      ? `no hub named "${msg.to.server}" is reachable`
      : rule.noCache && known
        ? `service "${service}" is not connected and the message asked not to be cached`
        : `service "${service}" is not registered on this hub`;
    this.failed(msg, from, rule, why);
  }

  /**
   * A cached message left the cache undelivered (evicted to make room, or expired): the sender
   * hears of it when it asked for reports, on its connection while that is open, else routed back.
   */
  cacheDropped(dropped: Cached<HubConnection>, why: string): void {
    const msg = dropped.msg;
    this.counters.failed++;
    if (parseReportLevel(msg.params.transmission_report) !== 'none') {
      const from = dropped.from?.open ? dropped.from : undefined;
      this.answer(msg, from, 'TRANSMISSION_REPORT', {
        command: msg.command,
        status: 'failed',
        destination_service: msg.to.service,
        reason: why,
      });
    }
    this.d.log.debug({ command: msg.command, to: msg.to, from: msg.sentFrom, why }, 'cached message dropped');
    if (this.d.tap.active) this.d.tap.publish('failed', msg, undefined, why);
  }

  private cached(msg: Message, from: HubConnection | undefined): void {
    this.counters.cached++;
    if (parseReportLevel(msg.params.transmission_report) === 'all') {
      this.answer(msg, from, 'TRANSMISSION_REPORT', {
        command: msg.command,
        status: 'cached',
        destination_service: msg.to.service,
      });
    }
    if (this.d.tap.active) this.d.tap.publish('cached', msg);
  }

  private failed(msg: Message, from: HubConnection | undefined, rule: CacheRule, why: string): void {
    this.counters.failed++;
    if (rule.reply) {
      // The hub the message was for; an address that named none (``, `.`, `*`) failed here.
      const server = msg.to.server;
      const params: Record<string, JsonValue> = {
        destination_service: msg.to.service,
        destination_server: server === '' || server === '.' || server === '*' ? this.d.serverName : server,
        unsent_command: msg.command,
      };
      this.answer(msg, from, 'SERVICE_UNAVAILABLE', params);
    }
    if (parseReportLevel(msg.params.transmission_report) !== 'none') {
      this.answer(msg, from, 'TRANSMISSION_REPORT', {
        command: msg.command,
        status: 'failed',
        destination_service: msg.to.service,
        reason: why,
      });
    }
    this.d.log.debug({ command: msg.command, to: msg.to, from: msg.sentFrom, why }, 'message not delivered');
    if (this.d.tap.active) this.d.tap.publish('failed', msg, undefined, why);
  }

  /** A notice from the hub to the sender: straight to its connection, or routed back when it came from afar. */
  answer(msg: Message, from: HubConnection | undefined, command: string, params: Record<string, JsonValue>): void {
    const reply = createMessage(command, params, from ? from.sender() : msg.sentFrom, { server: this.d.serverName });
    if (this.d.tap.active) this.d.tap.publish('sent', reply);
    if (from) {
      from.send(reply);
      return;
    }
    if (msg.sentFrom.service === '' || isBroadcast(msg.sentFrom.service)) return;
    this.route(reply, undefined);
  }
}
