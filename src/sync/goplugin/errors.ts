/**
 * The ways running a go-plugin connector can fail, as typed errors with stable codes. Every error
 * from a started plugin carries the tail of its stderr (`stderrTail`, also in `data.stderrTail`),
 * which is usually where a connector says what went wrong.
 */
import { SwitchboardError, TimeoutError } from '../../core/errors.js';

/** The sync connectors' own codes (the core's are in core/errors.ts). */
export type SyncErrorCode =
  /** A go-plugin subprocess printed a bad handshake line. */
  | 'PLUGIN_HANDSHAKE'
  /** A go-plugin subprocess exited while it was needed; `data.stderrTail` says why. */
  | 'PLUGIN_EXITED'
  /** A connector's Sync or Check returned an error (or, from the CLI, some accounts did not sync). */
  | 'SYNC_FAILED'
  /** A connector sent a page the host refused: too large, or an object without remote id. */
  | 'PAGE_REJECTED';

/** Some accounts of a `switchboard sync` did not sync (each said why as it finished). */
export class SyncFailedError extends SwitchboardError {
  constructor(message: string) {
    super('SYNC_FAILED' satisfies SyncErrorCode, message);
  }
}

interface PluginErrorOptions {
  cause?: unknown;
  stderrTail?: string;
  data?: Record<string, unknown>;
}

function withTail(message: string, tail: string | undefined): string {
  return tail ? `${message}\n--- last lines of the connector's stderr ---\n${tail}` : message;
}

function dataOf(options: PluginErrorOptions): Record<string, unknown> {
  return { ...options.data, ...(options.stderrTail ? { stderrTail: options.stderrTail } : {}) };
}

/** The plugin's first stdout line is not a go-plugin handshake we can use. */
export class PluginHandshakeError extends SwitchboardError {
  readonly stderrTail: string;
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGIN_HANDSHAKE' satisfies SyncErrorCode, withTail(message, options.stderrTail), {
      cause: options.cause,
      data: dataOf(options),
    });
    this.stderrTail = options.stderrTail ?? '';
  }
}

/** The plugin printed no handshake line within the timeout, or a step of the session took too long. */
export class PluginTimeoutError extends TimeoutError {
  readonly stderrTail: string;
  constructor(message: string, options: PluginErrorOptions = {}) {
    super(withTail(message, options.stderrTail), { cause: options.cause, data: dataOf(options) });
    this.stderrTail = options.stderrTail ?? '';
  }
}

/** The plugin process exited before its work was done (crash, `exit(n)`, killed from outside). */
export class PluginExitedError extends SwitchboardError {
  readonly stderrTail: string;
  readonly exitCode: number | null;
  readonly exitSignal: string | null;
  constructor(message: string, options: PluginErrorOptions & { exitCode: number | null; exitSignal: string | null }) {
    super('PLUGIN_EXITED' satisfies SyncErrorCode, withTail(message, options.stderrTail), {
      cause: options.cause,
      retryable: true,
      data: { ...dataOf(options), exitCode: options.exitCode, exitSignal: options.exitSignal },
    });
    this.stderrTail = options.stderrTail ?? '';
    this.exitCode = options.exitCode;
    this.exitSignal = options.exitSignal;
  }
}

/** The connector's Sync (or Check) returned an error; the plugin itself is fine. */
export class ConnectorSyncError extends SwitchboardError {
  readonly stderrTail: string;
  /** The gRPC status code name the connector answered with (`UNKNOWN`, `INVALID_ARGUMENT`, ...). */
  readonly grpcCode: string;
  /** `check` when the connector refused the options before syncing. */
  readonly phase: 'check' | 'sync';
  constructor(message: string, options: PluginErrorOptions & { grpcCode: string; phase?: 'check' | 'sync' }) {
    const phase = options.phase ?? 'sync';
    super('SYNC_FAILED' satisfies SyncErrorCode, withTail(message, options.stderrTail), {
      cause: options.cause,
      data: { ...dataOf(options), grpcCode: options.grpcCode, phase },
    });
    this.stderrTail = options.stderrTail ?? '';
    this.grpcCode = options.grpcCode;
    this.phase = phase;
  }
}

/**
 * The host refused a page: larger than `maxPageBytes`, or an object without `remoteId`. Pages
 * accepted before it stay delivered; the connector's Upsert call fails with the same sentence.
 */
export class PageRejectedError extends SwitchboardError {
  readonly stderrTail: string;
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PAGE_REJECTED' satisfies SyncErrorCode, withTail(message, options.stderrTail), {
      cause: options.cause,
      data: dataOf(options),
    });
    this.stderrTail = options.stderrTail ?? '';
  }
}

/** The caller's AbortSignal fired; the plugin's process group was stopped. */
export class ConnectorCancelledError extends SwitchboardError {
  constructor(message = 'the sync was cancelled; the connector was stopped', options: { cause?: unknown } = {}) {
    super('CANCELLED', message, options);
  }
}

/** Any of the errors above, so callers can `instanceof`-check once. */
export type ConnectorRunError =
  | PluginHandshakeError
  | PluginTimeoutError
  | PluginExitedError
  | ConnectorSyncError
  | PageRejectedError
  | ConnectorCancelledError;
