/** Records of the sync capability, as the library and `--json` present them. */

export type SourceKind = 'HTTP' | 'VCS' | 'Local';

/** How the host talks to a connector: c1-core's go-plugin gRPC, or an Airbyte-protocol source on stdout. */
export type ConnectorProtocol = 'go-plugin' | 'airbyte';

/** Airbyte sources: which streams to read and how a record's remote id is made. */
export interface AirbyteSettings {
  /** Streams to read (default: every stream `discover` lists). */
  streams?: string[];
  /** Field (dot path) holding the remote id, for every stream or per stream; default: the stream's primary key. */
  remoteId?: string | Record<string, string>;
}

export interface ConnectorRecord {
  name: string;
  description: string;
  source: SourceKind;
  uri: string;
  installCommand: string;
  updateCommand: string;
  command: string;
  installedAt: string;
  updatedAt: string;
  protocol: ConnectorProtocol;
  /** JSON Schema the account options must match (the manifest's `options_schema`, or an Airbyte source's spec). */
  optionsSchema: Record<string, unknown> | null;
  /** Environment variables the connector may receive from the hub's environment (the manifest's `env`). */
  env: string[];
  /** Longest a sync run may take (manifest `timeout`); null: the default. */
  timeoutMs: number | null;
  airbyte: AirbyteSettings | null;
}

export interface Account {
  id: number;
  connector: string;
  name: string;
  /** JSON text, passed to the connector as `SyncRequest.options`. */
  options: string;
  createdAt: string;
  /** The last committed checkpoint (connector-defined text, JSON for Airbyte sources); null: none, a full sync. */
  state: string | null;
  stateUpdatedAt: string | null;
  /** `every 15m` or `cron 0 * * * *`; null: synced on demand only. */
  schedule: string | null;
  /** When the scheduler runs it next (jitter included); null without a schedule. */
  nextRunAt: string | null;
  /** Longest a sync run of this account may take; null: the connector's, else the default. */
  timeoutMs: number | null;
}

/** One object as a connector sends it (proto `DataObject`). */
export interface DataObjectInput {
  remoteId: string;
  resourceName?: string;
  uri?: string;
  metadata?: string;
}

export interface DataObject {
  id: number;
  accountId: number;
  remoteId: string;
  connector: string;
  resourceName: string;
  uri: string;
  metadata: string;
  notes: string;
  lastSyncedAt: string;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'abandoned';

/** Who started a run. */
export type RunStarter = 'manual' | 'schedule' | 'action';

export interface SyncRun {
  id: number;
  accountId: number | null;
  accountName: string;
  connector: string;
  startedAt: string;
  finishedAt: string | null;
  /** null while running. */
  success: boolean | null;
  objects: number;
  pages: number;
  error: string | null;
  metadata: string | null;
  status: RunStatus;
  /** Checkpoints committed during the run. */
  checkpoints: number;
  /** The last state this run committed. */
  state: string | null;
  startedBy: RunStarter | null;
}
