/** What a connector written with the SDK implements and receives. */
import type { ConnectorLog } from './hclog.js';

/** One object to upsert; only `remoteId` is required. An object `metadata` is sent as JSON text. */
export interface ConnectorObject {
  remoteId: string;
  resourceName?: string;
  uri?: string;
  metadata?: string | Record<string, unknown> | unknown[];
}

export interface SyncContext {
  /**
   * Sends one page. Under Switchboard's host it resolves as soon as fewer than `pagesInFlight`
   * pages await the host's answer, so the next page is built while the host stores this one (the
   * host keeps them in order); a page the host refused makes the next `upsert`/`clean` (or the end
   * of the sync) reject. Under other go-plugin hosts it resolves when the host has answered.
   */
  upsert(objects: readonly ConnectorObject[]): Promise<void>;
  /** Asks the host to forget objects this run has not sent (c1-core's Clean). */
  clean(): Promise<void>;
  /**
   * The state of the account's last checkpoint (what `checkpoint` was given, as text), or null for a
   * first or reset sync: read it to go on from where the last run got to.
   */
  state: string | null;
  /**
   * Records a point to resume from (a cursor, per-stream positions; an object is sent as JSON). The
   * host commits it with every page sent before it, so a run that dies resumes from its last
   * checkpoint and nothing before it is lost. Resolves once committed. Under hosts without
   * checkpoints (c1-core's) it does nothing.
   */
  checkpoint(state: string | Record<string, unknown>): Promise<void>;
  /** Aborted when the host cancels the Sync or shuts the plugin down. */
  signal: AbortSignal;
  /** hclog JSON lines on stderr; the host puts them into its logs. */
  log: ConnectorLog;
}

/** Anything with `parse(input) -> T` that throws on bad input, e.g. a zod schema. */
export interface OptionsParser<T> {
  parse(input: unknown): T;
}

export interface ConnectorDefinition<Options = unknown> {
  /** Validates the account's options (the JSON text parsed first); a zod schema fits. */
  options?: OptionsParser<Options>;
  /**
   * One sync: call `upsert` once per page and `checkpoint` where the next run may go on from (it
   * gets that state as `context.state`); return the run's metadata (recorded with the run, e.g.
   * counts; an object is sent as JSON). A throw fails the run with the error's message.
   */
  sync(options: Options, context: SyncContext): Promise<string | Record<string, unknown> | void>;
  /** Optional: validate options before a sync (reach the source, check credentials). Throw to refuse. */
  check?(options: Options): Promise<void>;
}

export interface ServeOptions {
  /** Listen on a Unix socket (default; TCP on Windows) or on TCP 127.0.0.1 within PLUGIN_MIN_PORT..PLUGIN_MAX_PORT. */
  network?: 'unix' | 'tcp';
  /** Where to write the handshake line; default stdout. */
  writeHandshake?: (line: string) => void;
  /**
   * Pages sent before waiting for the host's answer: default 2 under Switchboard's host (it keeps
   * numbered pages in order), always 1 under other go-plugin hosts, which may reorder concurrent calls.
   */
  pagesInFlight?: number;
  /** Called on Shutdown instead of `process.exit(0)` (for tests that serve in-process). */
  onShutdown?: () => void;
}
