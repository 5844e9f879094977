/**
 * The registry as data: LIST_SERVICES entries and SERVICE_STATUS / STATUS parameters. Times on
 * the wire are epoch seconds, as the communicator writes them.
 */
import type { JsonValue } from '../core/message.js';
import type { InstanceRecord, ServiceRecord, ServicesView } from './service-catalog.js';
import type { RemoteHooks } from './remote.js';

export interface InstanceInfo {
  instance: string;
  id: string;
  since: number;
  commands: string[];
  transport: string;
  kind: string;
  remote_address: string;
  endpoints?: JsonValue;
  params: Record<string, JsonValue>;
  dropped: number;
  queued_bytes: number;
}

export interface ServiceInfo {
  name: string;
  server: string;
  status: 'up' | 'down';
  since: number;
  instances: InstanceInfo[];
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

export function instanceInfo(inst: InstanceRecord): InstanceInfo {
  const conn = inst.connection;
  return {
    instance: inst.instance,
    id: inst.id,
    since: seconds(inst.since),
    commands: [...conn.commands].sort(),
    transport: conn.channel.transport,
    kind: conn.kind,
    remote_address: conn.channel.remoteAddress,
    ...(inst.endpoints !== undefined ? { endpoints: inst.endpoints } : {}),
    params: inst.params,
    dropped: conn.dropped,
    queued_bytes: conn.channel.stats.bufferedBytes,
  };
}

export function serviceInfo(serverName: string, s: ServiceRecord): ServiceInfo {
  return {
    name: s.name,
    server: serverName,
    status: s.up ? 'up' : 'down',
    since: seconds(s.up ? s.upSince : s.downSince),
    instances: s.instances.map(instanceInfo),
  };
}

/** Local services (live or known) then remote ones, sorted by name. */
export function listServices(
  serverName: string,
  services: ServicesView,
  remote: RemoteHooks | undefined,
): ServiceInfo[] {
  const out: ServiceInfo[] = [];
  for (const s of services.all()) out.push(serviceInfo(serverName, s));
  out.sort((a, b) => a.name.localeCompare(b.name));
  if (remote) {
    const far = remote
      .remoteServices()
      .map((r): ServiceInfo => ({ name: r.name, server: r.hub, status: 'up', since: r.since, instances: [] }));
    far.sort((a, b) => a.name.localeCompare(b.name) || a.server.localeCompare(b.server));
    out.push(...far);
  }
  return out;
}

/** STATUS parameters for a service by name (SERVICE_STATUS reply). */
export function serviceStatusParams(
  serverName: string,
  services: ServicesView,
  remote: RemoteHooks | undefined,
  name: string,
): Record<string, JsonValue> {
  const s = services.get(name);
  if (s?.up) return statusParams(serverName, s, undefined);
  const far = remote?.remoteServices().find((r) => r.name === name);
  if (far) return { service: name, server_name: far.hub, status: 'up', up_since: String(far.since), instances: '0' };
  if (s) return statusParams(serverName, s, undefined);
  return { service: name, server_name: serverName, status: 'down', instances: '0' };
}

/** The STATUS a change produces (and SERVICE_STATUS replies with). */
export function statusParams(
  serverName: string,
  s: ServiceRecord,
  inst: InstanceRecord | undefined,
): Record<string, JsonValue> {
  const params: Record<string, JsonValue> = {
    service: s.name,
    server_name: serverName,
    status: s.up ? 'up' : 'down',
    instances: String(s.instances.length),
  };
  if (s.up) params.up_since = String(seconds(s.upSince));
  else if (s.downSince) params.down_since = String(seconds(s.downSince));
  if (inst) {
    params.instance = inst.instance;
    // Discovery keeps its peer cache from STATUS alone: the advertisement travels with the change.
    if (inst.endpoints !== undefined) params.endpoints = inst.endpoints;
  }
  return params;
}
