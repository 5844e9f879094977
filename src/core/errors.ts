/**
 * One error form for every capability: `SwitchboardError` with a stable code, a `retryable` flag
 * and data, and one wire form (`toWire` / `fromWire`) wherever an error crosses a process: the
 * hub's ERROR replies, the plugin engine's responses, the dispatcher's refusals, the sync
 * service's outcomes. Each capability subclasses SwitchboardError with codes of its own (the
 * engine's PLUGIN_ERROR in engine/errors.ts, the sync connectors' in sync/goplugin/errors.ts);
 * the core lists only its own and the hub's. Nothing throws a plain Error across a module boundary:
 * `asSwitchboardError` turns whatever was caught into one.
 *
 * Parsers of outside input either throw one of these (when the input is the whole job: a config
 * file, command-line flags, a manifest) or return a `Result` (result.ts) when one bad input among
 * many is refused and the work goes on (a message, a batch, a parameter).
 */

/** The core's and the hub's codes. */
export type CoreErrorCode =
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
  | 'INTERNAL';

/** A core code or a capability's own (upper case letters, digits and _). */
export type ErrorCode = CoreErrorCode | (string & {});

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Codes whose errors are worth trying again when the wire does not say (an older peer). */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'TIMEOUT',
  'UNAVAILABLE',
  'CONNECTION_CLOSED',
  'CONNECTION_FAILED',
]);

/** The wire form of an error: the same fields in JSON, in message parameters and in plugin responses. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
  data?: Record<string, unknown>;
}

export interface ErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  data?: Record<string, unknown>;
}

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
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
    return fromWire(wire);
  }
}

/** The wire form of anything thrown; a value that is not a SwitchboardError gets `fallback` as its code. */
export function toWire(err: unknown, fallback: ErrorCode = 'INTERNAL'): WireError {
  if (err instanceof SwitchboardError) return err.toWire();
  return { code: fallback, message: errorMessage(err), retryable: false };
}

/**
 * The error a wire form describes. A code that is not a code (a peer's bug, or hostile) becomes
 * `fallbackCode` (INTERNAL) with the code it had in `data.remoteCode`; `retryable` defaults by code.
 */
export function fromWire(
  wire: WireError,
  options: { fallbackCode?: ErrorCode; data?: Record<string, unknown> } = {},
): SwitchboardError {
  const valid = typeof wire.code === 'string' && CODE.test(wire.code);
  const code = valid ? wire.code : (options.fallbackCode ?? 'INTERNAL');
  const data = { ...wire.data, ...options.data, ...(valid ? {} : { remoteCode: String(wire.code) }) };
  return new SwitchboardError(code, typeof wire.message === 'string' ? wire.message : String(wire.message), {
    retryable: typeof wire.retryable === 'boolean' ? wire.retryable : RETRYABLE_CODES.has(code),
    ...(Object.keys(data).length > 0 ? { data } : {}),
  });
}

/** What was caught, as a SwitchboardError (`code` for anything else, the original as its cause). */
export function asSwitchboardError(err: unknown, code: ErrorCode = 'INTERNAL'): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  return new SwitchboardError(code, errorMessage(err), { cause: err });
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
