/**
 * The reference the hand-written codecs (../proto) are tested against: this folder's .proto files
 * as protobufjs reads them through proto-loader, with the options the SDK and host once loaded them
 * with at start-up. Its methods are keyed by path (`/proto.Connector/Sync`).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/grpc-js';

const protoDir = fileURLToPath(new URL('../proto/', import.meta.url));

export const PROTO_FILES = ['connector.proto', 'plugin.proto', 'health.proto', 'check.proto'];

const definitions = loadSync(
  PROTO_FILES.map((f) => join(protoDir, f)),
  { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true },
);

/** Every service of the .proto files: its full name and its methods' paths. */
export const referenceServices = new Map<string, string[]>();
/** Every method of the .proto files, by path. */
export const referenceMethods = new Map<string, MethodDefinition<object, object>>();

for (const [name, def] of Object.entries(definitions)) {
  if ('format' in def) continue; // a message or enum type, not a service
  const methods = Object.values(def) as unknown as MethodDefinition<object, object>[];
  referenceServices.set(
    name,
    methods.map((m) => m.path),
  );
  for (const m of methods) referenceMethods.set(m.path, m);
}
