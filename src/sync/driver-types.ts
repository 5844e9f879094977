/**
 * One runner, two protocols: what the sync runner needs from a connector, whatever it speaks.
 * `go-plugin` is c1-core's gRPC protocol (./goplugin), `airbyte` a source that writes Airbyte
 * messages on stdout (./airbyte). Both get the account's state and report checkpoints.
 */
import type { DataObject, PluginLogEntry } from './goplugin/types.js';
import type { ConnectorRecord } from './types.js';

export interface DriverRunOptions {
  connector: ConnectorRecord;
  /** The connector's folder (its commands run there). */
  cwd: string;
  /** The account's options (JSON text). */
  options: string;
  /** The account's last committed state; undefined: none. */
  state?: string;
  /** What the host sets in the connector's environment on top of the allow-list. */
  env: Record<string, string>;
  onPage(objects: DataObject[]): Promise<void>;
  onCheckpoint(state: string): Promise<void>;
  /** Forget the account's objects this run has not sent; with `resource`, only that resource name's (an Airbyte full-refresh stream). */
  onClean(resource?: string): Promise<void>;
  onLog(entry: PluginLogEntry): void;
  signal: AbortSignal;
  handshakeTimeoutMs?: number;
}

export interface DriverCheckOptions {
  connector: ConnectorRecord;
  cwd: string;
  options: string;
  env: Record<string, string>;
  signal?: AbortSignal;
}

export interface CheckResult {
  /** False when the connector has no check (c1-core's Go connectors): nothing was validated. */
  supported: boolean;
  ok: boolean;
  message: string;
}

export interface Driver {
  /** One sync; resolves with the end metadata, rejects with a typed error saying what happened. */
  run(o: DriverRunOptions): Promise<{ metadata: string }>;
  /** Asks the connector whether the options are usable (go-plugin Check, Airbyte `check`). */
  check(o: DriverCheckOptions): Promise<CheckResult>;
  /** The connector's options schema when it can tell (Airbyte `spec`); undefined otherwise. */
  spec?(o: Omit<DriverCheckOptions, 'options'>): Promise<Record<string, unknown> | undefined>;
}
