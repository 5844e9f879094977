/**
 * The Airbyte protocol messages a source writes on stdout, one JSON object a line, validated with
 * zod (only the fields the host uses; other fields and message types pass through untouched).
 */
import { z } from 'zod';

const Obj = z.record(z.string(), z.unknown());

export const StreamDescriptor = z.object({ name: z.string().min(1), namespace: z.string().nullish() });

export const RecordMessage = z.object({
  type: z.literal('RECORD'),
  record: z.object({ stream: z.string().min(1), namespace: z.string().nullish(), data: Obj }),
});

/** Legacy (`data`), per stream (`STREAM`) or `GLOBAL` state. */
export const StateMessage = z.object({
  type: z.literal('STATE'),
  state: z
    .object({
      type: z.enum(['LEGACY', 'STREAM', 'GLOBAL']).optional(),
      data: z.unknown().optional(),
      stream: z.object({ stream_descriptor: StreamDescriptor, stream_state: z.unknown().optional() }).optional(),
      global: z.unknown().optional(),
    })
    .passthrough(),
});

export const LogMessage = z.object({
  type: z.literal('LOG'),
  log: z.object({ level: z.string(), message: z.string() }),
});

export const TraceMessage = z.object({
  type: z.literal('TRACE'),
  trace: z
    .object({
      type: z.string(),
      error: z
        .object({
          message: z.string().optional(),
          internal_message: z.string().nullish(),
          failure_type: z.string().nullish(),
          stack_trace: z.string().nullish(),
        })
        .optional(),
    })
    .passthrough(),
});

export const SpecMessage = z.object({
  type: z.literal('SPEC'),
  spec: z.object({ connectionSpecification: Obj }).passthrough(),
});

export const ConnectionStatusMessage = z.object({
  type: z.literal('CONNECTION_STATUS'),
  connectionStatus: z.object({ status: z.enum(['SUCCEEDED', 'FAILED']), message: z.string().nullish() }),
});

export const CatalogStream = z.object({
  name: z.string().min(1),
  namespace: z.string().nullish(),
  json_schema: Obj.optional(),
  supported_sync_modes: z.array(z.string()).optional(),
  source_defined_cursor: z.boolean().nullish(),
  default_cursor_field: z.array(z.string()).nullish(),
  source_defined_primary_key: z.array(z.array(z.string())).nullish(),
});
export type CatalogStream = z.infer<typeof CatalogStream>;

export const CatalogMessage = z.object({
  type: z.literal('CATALOG'),
  catalog: z.object({ streams: z.array(CatalogStream) }),
});

export type StateMessage = z.infer<typeof StateMessage>;
export type TraceMessage = z.infer<typeof TraceMessage>;
