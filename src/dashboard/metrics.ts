/**
 * Prometheus metrics (`GET /metrics`): message counters from the sniff tap, and gauges read at
 * scrape time from the hub, the sync store and the dispatcher's tables.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Hub } from '../hub/hub.js';
import { listServices } from '../hub/service-list.js';
import type { HubLink } from './hub-link.js';
import type { DashboardData } from './data.js';

/** Command names are bounded (A-Z, 0-9, _); anything else is counted as `other`. */
function commandLabel(message: unknown): string {
  if (message && typeof message === 'object' && 'command' in message && typeof message.command === 'string' && /^[A-Z0-9_]{1,64}$/.test(message.command)) return message.command;
  return 'other';
}

export function createMetrics(hub: Hub, link: HubLink, data: DashboardData): Registry {
  const registry = new Registry();
  const messages = new Counter({ name: 'switchboard_messages_total', help: 'Messages routed by the hub, by command and outcome', labelNames: ['command', 'outcome'] as const, registers: [registry] });
  link.on('sniffed', (e) => messages.inc({ command: commandLabel(e.message), outcome: e.outcome }));

  new Gauge({ name: 'switchboard_connections', help: 'Open connections on the hub', registers: [registry], collect() { this.set(hub.connectionCount); } });
  new Gauge({
    name: 'switchboard_services', help: 'Services known to this hub by status', labelNames: ['status'] as const, registers: [registry],
    collect() {
      const list = listServices(hub.serverName, hub.services, hub.remote());
      this.set({ status: 'up' }, list.filter((s) => s.status === 'up').length);
      this.set({ status: 'down' }, list.filter((s) => s.status === 'down').length);
    },
  });
  const instances = () => listServices(hub.serverName, hub.services, undefined).flatMap((s) => s.instances);
  new Gauge({ name: 'switchboard_queue_bytes', help: 'Bytes queued towards registered services', registers: [registry], collect() { this.set(instances().reduce((n, i) => n + i.queued_bytes, 0)); } });
  new Gauge({ name: 'switchboard_queue_drops', help: 'Messages dropped for registered services (full outbound queue), since they connected', registers: [registry], collect() { this.set(instances().reduce((n, i) => n + i.dropped, 0)); } });
  new Gauge({
    name: 'switchboard_hub_faults', help: 'Refused connections and signals, invalid lines', labelNames: ['kind'] as const, registers: [registry],
    collect() { for (const [kind, n] of Object.entries(hub.faults)) this.set({ kind }, n); },
  });
  new Gauge({
    name: 'switchboard_sync_objects', help: 'Data objects in the sync store', registers: [registry],
    async collect() { this.set((await data.sync.listData({ pageSize: 1 })).total); },
  });
  new Gauge({
    name: 'switchboard_sync_runs', help: 'Recent sync runs (last 1000) by result', labelNames: ['result'] as const, registers: [registry],
    async collect() {
      const runs = await data.sync.listRuns({ limit: 1000 });
      this.set({ result: 'success' }, runs.filter((r) => r.success).length);
      this.set({ result: 'failure' }, runs.filter((r) => r.success === false).length);
      this.set({ result: 'running' }, runs.filter((r) => r.success === null).length);
    },
  });
  new Gauge({ name: 'switchboard_events', help: 'Events recorded by the dispatcher', registers: [registry], async collect() { this.set(await data.dispatch.countEvents()); } });
  new Gauge({
    name: 'switchboard_executions', help: 'Action executions by status', labelNames: ['status'] as const, registers: [registry],
    async collect() { for (const [status, n] of Object.entries((await data.dispatch.countExecutions()).byStatus)) this.set({ status }, n); },
  });
  return registry;
}
