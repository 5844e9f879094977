/**
 * A small flat set of error classes with stable codes, a `retryable` flag and a wire form, so an
 * error can cross a process boundary and be rebuilt on the other side.
 */

export type ErrorCode =
  | 'INVALID_MESSAGE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'LINE_TOO_LONG'
  | 'DATAGRAM_TOO_LARGE'
  | 'UNSUPPORTED_ADDRESS'
  | 'CONNECTION_FAILED'
  | 'CONNECTION_CLOSED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'REFUSED'
  | 'UNAVAILABLE'
  | 'PERMISSION_DENIED'
  | 'INTERNAL'
  /** A plugin's method threw (plugin engine). */
  | 'PLUGIN_ERROR'
  /** A go-plugin subprocess printed a bad handshake line (sync connectors). */
  | 'PLUGIN_HANDSHAKE'
  /** A go-plugin subprocess exited while it was needed; `data.stderrTail` says why (sync connectors). */
  | 'PLUGIN_EXITED'
  /** A connector's Sync or Check returned an error (sync connectors). */
  | 'SYNC_FAILED'
  /** A connector sent a page the host refused: too large, or an object without remote id (sync connectors). */
  | 'PAGE_REJECTED';

export interface WireError {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
  data?: Record<string, unknown>;
}

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly data: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; data?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.data = options.data;
  }

  toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.data ? { data: this.data } : {}),
    };
  }

  static fromWire(wire: WireError): SwitchboardError {
    return new SwitchboardError(wire.code, wire.message, {
      retryable: wire.retryable ?? false,
      ...(wire.data ? { data: wire.data } : {}),
    });
  }
}

/** Malformed input from outside the process: a line, a datagram, a manifest, a plugin message. */
export class InvalidMessageError extends SwitchboardError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('INVALID_MESSAGE', message, options);
  }
}

/** A bad argument or configuration value given by a person or a caller. */
export class InvalidArgumentError extends SwitchboardError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}

export class TimeoutError extends SwitchboardError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('TIMEOUT', message, { ...options, retryable: true });
  }
}

export class ConnectionError extends SwitchboardError {
  constructor(
    code: 'CONNECTION_FAILED' | 'CONNECTION_CLOSED',
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, retryable: true });
  }
}

/** A line on a byte stream exceeded the channel's `maxLineLength`; the channel closes after it. */
export class LineTooLongError extends SwitchboardError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('LINE_TOO_LONG', message, options);
  }
}

/** A UDP datagram (in or out) over the 1024-byte limit; it is dropped, the socket keeps running. */
export class DatagramTooLargeError extends SwitchboardError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('DATAGRAM_TOO_LARGE', message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
