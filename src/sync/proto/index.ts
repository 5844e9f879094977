/**
 * The services of this folder's .proto files as grpc-js definitions, with typed method descriptors
 * for both sides: the go-plugin host (`../goplugin`) and the connector SDK (`../sdk`). The codecs
 * are hand-written (wire.ts, and page.ts for Upsert's pages), not loaded from the .proto files at
 * start-up; codecs.test.ts holds them to protobufjs's reading of those files.
 * Field names are camel-cased (`remote_id` -> `remoteId`); enums are their names.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { DataObject } from '../goplugin/types.js';
import { decodePage, encodePage, type SyncResponse } from './page.js';
import { message, type Codec } from './wire.js';

export type { DataObject, SyncResponse };

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
export interface EndSync {
  metadata: string;
}
export interface ConnInfo {
  serviceId: number;
  network: string;
  address: string;
  knock?: { knock: boolean; ack: boolean; error: string } | null;
}
// An enum value newer than these names arrives as its number (wire.ts).
export interface StdioData {
  channel: 'INVALID' | 'STDOUT' | 'STDERR' | number;
  data: Buffer;
}
export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | number;
}
export interface CheckRequest {
  options: string;
}
export interface CheckResponse {
  ok: boolean;
  message: string;
}

const empty = message<Empty>([]);
const syncRequest = message<SyncRequest>([
  { no: 1, name: 'options', kind: 'string' },
  { no: 2, name: 'callbackHandlerServer', kind: 'uint32' },
  { no: 3, name: 'state', kind: 'string' },
]);
const endSync = message<EndSync>([{ no: 1, name: 'metadata', kind: 'string' }]);
const checkpointRequest = message<CheckpointMessage>([{ no: 1, name: 'state', kind: 'string' }]);
const syncResponse: Codec<SyncResponse> = { encode: encodePage, decode: decodePage };
const knock = message<NonNullable<ConnInfo['knock']>>([
  { no: 1, name: 'knock', kind: 'bool' },
  { no: 2, name: 'ack', kind: 'bool' },
  { no: 3, name: 'error', kind: 'string' },
]);
const connInfo = message<ConnInfo>([
  { no: 1, name: 'serviceId', kind: 'uint32' },
  { no: 2, name: 'network', kind: 'string' },
  { no: 3, name: 'address', kind: 'string' },
  { no: 4, name: 'knock', kind: 'message', codec: knock },
]);
const stdioData = message<StdioData>([
  { no: 1, name: 'channel', kind: 'enum', names: ['INVALID', 'STDOUT', 'STDERR'] },
  { no: 2, name: 'data', kind: 'bytes' },
]);
const healthCheckRequest = message<HealthCheckRequest>([{ no: 1, name: 'service', kind: 'string' }]);
const healthCheckResponse = message<HealthCheckResponse>([
  { no: 1, name: 'status', kind: 'enum', names: ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] },
]);
const checkRequest = message<CheckRequest>([{ no: 1, name: 'options', kind: 'string' }]);
const checkResponse = message<CheckResponse>([
  { no: 1, name: 'ok', kind: 'bool' },
  { no: 2, name: 'message', kind: 'string' },
]);

/** A method of service `service` (its full proto name) with these codecs, as grpc-js takes it. */
function rpc<Req, Res>(
  service: string,
  name: string,
  request: Codec<Req>,
  response: Codec<Res>,
  streaming: 'unary' | 'server' | 'bidi' = 'unary',
): MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream: streaming === 'bidi',
    responseStream: streaming === 'server' || streaming === 'bidi',
    requestSerialize: (m) => request.encode(m),
    requestDeserialize: (b) => request.decode(b),
    responseSerialize: (m) => response.encode(m),
    responseDeserialize: (b) => response.decode(b),
  };
}

export const methods = {
  sync: rpc('proto.Connector', 'Sync', syncRequest, endSync),
  upsert: rpc('proto.CallbackHandler', 'Upsert', syncResponse, empty),
  clean: rpc('proto.CallbackHandler', 'Clean', empty, empty),
  checkpoint: rpc('proto.CallbackHandler', 'Checkpoint', checkpointRequest, empty),
  startStream: rpc('plugin.GRPCBroker', 'StartStream', connInfo, connInfo, 'bidi'),
  shutdown: rpc('plugin.GRPCController', 'Shutdown', empty, empty),
  streamStdio: rpc('plugin.GRPCStdio', 'StreamStdio', empty, stdioData, 'server'),
  healthCheck: rpc('grpc.health.v1.Health', 'Check', healthCheckRequest, healthCheckResponse),
  check: rpc('switchboard.sync.ConnectorCheck', 'Check', checkRequest, checkResponse),
};

export const services = {
  connector: { Sync: methods.sync },
  callbackHandler: { Upsert: methods.upsert, Clean: methods.clean, Checkpoint: methods.checkpoint },
  broker: { StartStream: methods.startStream },
  controller: { Shutdown: methods.shutdown },
  stdio: { StreamStdio: methods.streamStdio },
  health: { Check: methods.healthCheck },
  check: { Check: methods.check },
} satisfies Record<string, ServiceDefinition>;

/** go-plugin raises gRPC's 4 MiB default to this on every channel and server (Go's math.MaxInt32). */
export const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

export const GRPC_SIZE_OPTIONS = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
} as const;
