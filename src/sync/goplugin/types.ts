/** The data a connector produces and the options of one connector run (the host's public contract). */

/** One object a connector syncs (c1-core's `proto.DataObject`, camel-cased). */
export interface DataObject {
  /** The object's id at the source; unique per account. Never empty (the host rejects such a page). */
  remoteId: string;
  resourceName: string;
  uri: string;
  /** Free text, by convention JSON. */
  metadata: string;
}

/** A line the plugin wrote on stderr (hclog JSON or plain text) or through GRPCStdio. */
export interface PluginLogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  message: string;
  /** hclog's extra key/value pairs (without `@level`, `@message`, `@timestamp`, `@module`). */
  fields: Record<string, unknown>;
  /** Where the line came from. */
  stream: 'stderr' | 'stdout';
  /** `@module` of an hclog line, when present. */
  module?: string;
}

export interface RunConnectorOptions {
  /** Shell command that starts the connector; run as `sh -c <command>` in `cwd`. */
  command: string;
  /** The connector's folder (e.g. `$SWITCHBOARD_HOME/connectors/<store id>/<name>`). */
  cwd: string;
  /**
   * Extra environment for the plugin. The plugin never gets this process's whole environment: only
   * an allow-list (PATH, HOME, locale, temp folder, proxies, CA files), the names in `inheritEnv`,
   * and this.
   */
  env?: Record<string, string>;
  /** Names copied from this process's environment beyond the allow-list (a manifest's `env`). */
  inheritEnv?: readonly string[];
  /** The account's last committed state (`SyncRequest.state`); '' or absent: none. */
  state?: string;
  /**
   * Called when the connector calls `CallbackHandler.Checkpoint(state)`, after every `onPage`
   * before it has resolved, in order. Its Checkpoint call waits for it. Default: ignored.
   */
  onCheckpoint?: (state: string) => Promise<void>;
  /** The raw options string given to `Sync` (by convention the account's JSON options). */
  options: string;
  /**
   * Called once per page, in order, never concurrently. The connector's `Upsert` call waits for it,
   * so the connector cannot outrun the store. A throw rejects the page: the connector sees the
   * error on its `Upsert`, and `runConnector` rejects with it (pages before it stay delivered).
   */
  onPage: (objects: DataObject[]) => Promise<void>;
  /** Called when the connector calls `Clean` (c1-core's "forget what you had"); optional. */
  onClean?: () => Promise<void>;
  /** Each stderr/stdout line of the plugin after parsing; default: logged through `getLogger('sync')`. */
  onLog?: (entry: PluginLogEntry) => void;
  /** Aborting stops the plugin (Shutdown, 2 s, SIGKILL of its process group) and rejects with `ConnectorCancelledError`. */
  signal?: AbortSignal;
  /** How long to wait for the handshake line (default 60 000 ms, as go-plugin's StartTimeout). */
  handshakeTimeoutMs?: number;
  /** Negotiate mutual TLS with a fresh certificate per run (go-plugin's AutoMTLS). Default false. */
  autoMTLS?: boolean;
  /** Largest encoded page accepted (default 4 MiB, what go-plugin hosts accept); larger ones are rejected. */
  maxPageBytes?: number;
  /** Call the connector's optional `Check` (Switchboard extension) before `Sync`; default true. */
  check?: boolean;
}

export interface RunConnectorResult {
  /** What the connector's `Sync` returned (`EndSync.metadata`), recorded with the run (state goes through Checkpoint). */
  metadata: string;
  pages: number;
  objects: number;
  checkpoints: number;
}
