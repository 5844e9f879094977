/**
 * The .proto files of this folder loaded once (proto-loader), with typed method descriptors for
 * both sides: the go-plugin host (`../goplugin`) and the connector SDK (`../sdk`).
 * Field names are camel-cased (`remote_id` -> `remoteId`); enums are their names.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { DataObject } from '../goplugin/types.js';
import { SwitchboardError } from '../../core/errors.js';

export type { DataObject };

export interface Empty {
  [key: string]: never;
}
export interface SyncRequest {
  options: string;
  callbackHandlerServer: number;
  /** The last committed checkpoint; '' when none. */
  state: string;
}
export interface CheckpointMessage {
  state: string;
}
export interface SyncResponse {
  response: DataObject[];
}
export interface EndSync {
  metadata: string;
}
export interface ConnInfo {
  serviceId: number;
  network: string;
  address: string;
  knock?: { knock: boolean; ack: boolean; error: string } | null;
}
export interface StdioData {
  channel: 'INVALID' | 'STDOUT' | 'STDERR';
  data: Buffer;
}
export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}
export interface CheckRequest {
  options: string;
}
export interface CheckResponse {
  ok: boolean;
  message: string;
}

// The .proto files sit beside this module (the build copies them into dist/sync/proto).
const protoDir = dirname(fileURLToPath(import.meta.url));

const definitions = loadSync(
  ['connector.proto', 'plugin.proto', 'health.proto', 'check.proto'].map((f) => join(protoDir, f)),
  {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  },
);

function service(name: string): ServiceDefinition {
  const def = definitions[name];
  if (!def || 'format' in def)
    throw new SwitchboardError('INTERNAL', `proto service ${name} missing from ${protoDir} (a broken install)`);
  return def as unknown as ServiceDefinition;
}

function method<Req, Res>(svc: ServiceDefinition, name: string): MethodDefinition<Req, Res> {
  const m = svc[name];
  if (!m) throw new SwitchboardError('INTERNAL', `proto method ${name} missing (a broken install)`);
  return m as MethodDefinition<Req, Res>;
}

export const services = {
  connector: service('proto.Connector'),
  callbackHandler: service('proto.CallbackHandler'),
  broker: service('plugin.GRPCBroker'),
  controller: service('plugin.GRPCController'),
  stdio: service('plugin.GRPCStdio'),
  health: service('grpc.health.v1.Health'),
  check: service('switchboard.sync.ConnectorCheck'),
};

export const methods = {
  sync: method<SyncRequest, EndSync>(services.connector, 'Sync'),
  upsert: method<SyncResponse, Empty>(services.callbackHandler, 'Upsert'),
  clean: method<Empty, Empty>(services.callbackHandler, 'Clean'),
  checkpoint: method<CheckpointMessage, Empty>(services.callbackHandler, 'Checkpoint'),
  startStream: method<ConnInfo, ConnInfo>(services.broker, 'StartStream'),
  shutdown: method<Empty, Empty>(services.controller, 'Shutdown'),
  streamStdio: method<Empty, StdioData>(services.stdio, 'StreamStdio'),
  healthCheck: method<HealthCheckRequest, HealthCheckResponse>(services.health, 'Check'),
  check: method<CheckRequest, CheckResponse>(services.check, 'Check'),
};

/** go-plugin raises gRPC's 4 MiB default to this on every channel and server (Go's math.MaxInt32). */
export const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

export const GRPC_SIZE_OPTIONS = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
} as const;
