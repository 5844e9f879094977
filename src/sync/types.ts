/** Records of the sync capability, as the library and `--json` present them. */

export type SourceKind = 'HTTP' | 'VCS' | 'Local';

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
}

export interface Account {
  id: number;
  connector: string;
  name: string;
  /** JSON text, passed to the connector as `SyncRequest.options`. */
  options: string;
  createdAt: string;
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
}
