/**
 * Prometheus metrics (`GET /metrics`). Hub counters are read at scrape time (the tap's tally by
 * command and outcome, channel frame counters per service, queue depths); action outcomes come
 * from the dispatcher's observer as they happen; the stores are counted at scrape time. Labels
 * stay bounded: commands (the hub caps distinct ones), outcomes, statuses, and at most
 * TOP_QUEUES services for per-service queue depths.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HubContext } from '../hub/context.js';
import { listServices } from '../hub/service-list.js';
import { observeActions } from '../dispatch/dispatcher/observe.js';
import type { HubLink } from './hub-link.js';
import type { DashboardData } from './data.js';

/** The deepest queues get a `service` label; the rest are only in the totals and quantiles. */
export const TOP_QUEUES = 10;
/** Action latency buckets (seconds): connectors answer in milliseconds to minutes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

export interface DashboardMetrics {
  registry: Registry;
  close(): void;
}

export function createMetrics(hub: HubContext, link: HubLink, data: DashboardData): DashboardMetrics {
  const registry = new Registry();
  new Counter({
    name: 'switchboard_messages_total',
    help: 'Messages routed by the hub, by command and outcome',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [command, outcomes] of link.tally)
        for (const [outcome, n] of Object.entries(outcomes)) this.inc({ command, outcome }, n);
    },
  });
  const perService = (which: 'received' | 'sent') =>
    function (this: Counter<'service'>) {
      this.reset();
      for (const [service, c] of link.counts) this.inc({ service }, c[which]);
    };
  new Counter({
    name: 'switchboard_service_messages_received_total',
    help: 'Messages the hub wrote to each local service',
    labelNames: ['service'] as const,
    registers: [registry],
    collect: perService('received'),
  });
  new Counter({
    name: 'switchboard_service_messages_sent_total',
    help: 'Messages each local service sent to the hub',
    labelNames: ['service'] as const,
    registers: [registry],
    collect: perService('sent'),
  });

  new Gauge({
    name: 'switchboard_connections',
    help: 'Open connections on the hub',
    registers: [registry],
    collect() {
      this.set(hub.counters().connections);
    },
  });
  new Gauge({
    name: 'switchboard_services',
    help: 'Services known to this hub by status',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      const list = listServices(hub.serverName, hub.services, hub.remote());
      this.set({ status: 'up' }, list.filter((s) => s.status === 'up').length);
      this.set({ status: 'down' }, list.filter((s) => s.status === 'down').length);
    },
  });
  const instances = () => listServices(hub.serverName, hub.services, undefined).flatMap((s) => s.instances);
  new Gauge({
    name: 'switchboard_queue_bytes',
    help: 'Bytes queued towards all connections',
    registers: [registry],
    collect() {
      this.set(link.queueDepths().reduce((n, q) => n + q.bytes, 0));
    },
  });
  new Gauge({
    name: 'switchboard_connection_queue_bytes',
    help: 'Outbound queue per connection: quantiles over the open connections (1 = the deepest)',
    labelNames: ['quantile'] as const,
    registers: [registry],
    collect() {
      const sorted = link
        .queueDepths()
        .map((q) => q.bytes)
        .sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.99, 1]) this.set({ quantile: String(q) }, quantile(sorted, q));
    },
  });
  new Gauge({
    name: 'switchboard_service_queue_bytes',
    help: `Outbound queue of the services with the ${TOP_QUEUES} deepest non-empty queues (summed over instances)`,
    labelNames: ['service'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const q of link.queueDepths())
        if (q.service && q.bytes > 0) by.set(q.service, (by.get(q.service) ?? 0) + q.bytes);
      for (const [service, bytes] of [...by].sort((a, b) => b[1] - a[1]).slice(0, TOP_QUEUES))
        this.set({ service }, bytes);
    },
  });
  new Gauge({
    name: 'switchboard_queue_drops',
    help: 'Messages dropped for registered services (full outbound queue), since they connected',
    registers: [registry],
    collect() {
      this.set(instances().reduce((n, i) => n + i.dropped, 0));
    },
  });
  new Gauge({
    name: 'switchboard_hub_faults',
    help: 'Refused connections and signals, invalid lines',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const [kind, n] of Object.entries(hub.counters().faults)) this.set({ kind }, n);
    },
  });
  new Counter({
    name: 'switchboard_refusals_total',
    help: 'Requests refused by the trust rules, by reason (commands, register, reserved, instances, send, broadcast, auth, http, origin, signal, dashboard)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of hub.refusals.totals()) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'switchboard_sync_objects',
    help: 'Data objects in the sync store',
    registers: [registry],
    async collect() {
      this.set((await data.sync.listData({ pageSize: 1 })).total);
    },
  });
  new Gauge({
    name: 'switchboard_sync_runs',
    help: 'Recent sync runs (last 1000) by result',
    labelNames: ['result'] as const,
    registers: [registry],
    async collect() {
      const runs = await data.sync.listRuns({ limit: 1000 });
      this.set({ result: 'success' }, runs.filter((r) => r.success).length);
      this.set({ result: 'failure' }, runs.filter((r) => r.success === false).length);
      this.set({ result: 'running' }, runs.filter((r) => r.success === null).length);
    },
  });
  new Gauge({
    name: 'switchboard_events',
    help: 'Events recorded by the dispatcher',
    registers: [registry],
    async collect() {
      this.set(await data.dispatch.countEvents());
    },
  });
  new Gauge({
    name: 'switchboard_executions',
    help: 'Action executions in the store by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      for (const [status, n] of Object.entries((await data.dispatch.countExecutions()).byStatus))
        this.set({ status }, n);
    },
  });

  // Actions as they finish in this process (the dispatcher of `switchboard start`).
  const actions = new Counter({
    name: 'switchboard_actions_total',
    help: 'Actions finished since the dashboard started, by status (done, failed, expired: no result in time, unsent: no such connector)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of ['done', 'failed', 'expired', 'unsent']) actions.inc({ status }, 0);
  const latency = new Histogram({
    name: 'switchboard_action_latency_seconds',
    help: 'From the trigger match (task dispatched) to its result, by result status',
    labelNames: ['status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const offActions = observeActions((o) => {
    actions.inc({ status: o.status });
    if (o.latencyMs !== undefined) latency.observe({ status: o.status }, o.latencyMs / 1000);
  });
  return { registry, close: offActions };
}
