/**
 * `switchboard/sync`: install connectors from manifests, keep accounts, run connectors as
 * go-plugin subprocesses and store the data objects they send.
 *
 *   const sync = await openSync();                 // SQLite under $SWITCHBOARD_HOME, or --database URL
 *   await sync.installConnector('./my-connector');  // raw JSON, URL or path
 *   await sync.addAccount({ connector: 'files', name: 'docs', options: '{"path":"/srv/docs"}' });
 *   await sync.sync(['docs']);
 *
 * Writing a connector: `serveConnector({ async sync(options, { upsert }) { ... } })`, from
 * `switchboard/sync/sdk` (also exported here; the SDK's own entry loads only what a connector
 * process needs, which every sync run waits for).
 */
export { openSync, type OpenSyncOptions, type SyncApi } from './open.js';
export type {
  Account,
  AirbyteSettings,
  ConnectorProtocol,
  ConnectorRecord,
  DataObject,
  DataObjectInput,
  RunStarter,
  RunStatus,
  SourceKind,
  SyncRun,
} from './types.js';
export { checkAccountOptions, type CheckResult } from './check.js';
export { scheduleFrom, setSchedule, claimDue, type Schedule } from './schedule.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export {
  ManifestSchema,
  readManifestInput,
  validateManifest,
  CONNECTOR_NAME,
  type Manifest,
  type ManifestInput,
} from './manifest.js';
export {
  installConnector,
  installManifest,
  updateConnector,
  removeConnector,
  connectorDir,
  type InstallContext,
} from './install.js';
export {
  addAccount,
  listAccounts,
  removeAccount,
  resolveAccount,
  updateAccount,
  normaliseOptions,
} from './accounts.js';
export { listConnectors, getConnector } from './connectors-db.js';
export {
  listData,
  setNote,
  upsertPage,
  cleanAccount,
  DATA_UPSERT,
  DATA_ORDERS,
  type DataOrder,
  type DataPage,
  type DataQuery,
} from './data.js';
export { listRuns, getRun } from './runs.js';
export {
  syncAccount,
  syncAccounts,
  type RunOptions,
  type SyncContext,
  type SyncOptions,
  type SyncOutcome,
  type SyncProgress,
} from './runner.js';
export { SYNC_MIGRATIONS, migrateSync } from './schema.js';
export { openStore, type Store, type Db } from '../store/index.js';

// The go-plugin host and the connector SDK.
export {
  runConnector,
  checkConnector,
  DEFAULT_MAX_PAGE_BYTES,
  parseHandshake,
  formatHandshake,
  PluginHandshakeError,
  PluginTimeoutError,
  PluginExitedError,
  ConnectorSyncError,
  PageRejectedError,
  ConnectorCancelledError,
  type CheckConnectorOptions,
  type CheckConnectorResult,
  type ConnectorRunError,
  type Handshake,
  type PluginLogEntry,
  type RunConnectorOptions,
  type RunConnectorResult,
  type DataObject as WireDataObject,
} from './goplugin/index.js';
export {
  serveConnector,
  createLog,
  type ServedConnector,
  type ConnectorDefinition,
  type ConnectorObject,
  type OptionsParser,
  type ServeOptions,
  type SyncContext as ConnectorSyncContext,
  type ConnectorLog,
} from './sdk/index.js';
