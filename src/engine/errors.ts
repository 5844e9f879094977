/**
 * Errors of the plugin engine: all SwitchboardErrors with stable codes. Messages keep Remix's
 * `[TIMEOUT]` / `[CANCEL]` prefixes so code that matched on them keeps working.
 */
import {
  SwitchboardError,
  TimeoutError,
  ConnectionError,
  fromWire,
  toWire,
  type ErrorOptions,
} from '../core/errors.js';

export function callTimeout(label: string, timeoutMs: number): TimeoutError {
  return new TimeoutError(`[TIMEOUT] call ${label} got no answer within ${timeoutMs} ms`, { data: { timeoutMs } });
}

export function callCancelled(label: string, reason?: unknown): SwitchboardError {
  const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : '';
  return new SwitchboardError('CANCELLED', `[CANCEL] call ${label} was cancelled${why}`);
}

export function notRegistered(name: string, caller: string): SwitchboardError {
  return new SwitchboardError(
    'NOT_FOUND',
    `plugin "${name}" is not registered, so "${caller}" cannot use it; register it with engine.register() first`,
  );
}

export function permissionDenied(message: string): SwitchboardError {
  return new SwitchboardError('PERMISSION_DENIED', message);
}

export function connectionLost(message: string, cause?: unknown): ConnectionError {
  return new ConnectionError('CONNECTION_CLOSED', message, cause === undefined ? {} : { cause });
}

/** The engine's own code: a plugin's method threw. */
export type EngineErrorCode = 'PLUGIN_ERROR';

/** A plugin's method threw (what the other side sees when the thrown value was not a SwitchboardError). */
export class PluginError extends SwitchboardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('PLUGIN_ERROR' satisfies EngineErrorCode, message, options);
  }
}

/**
 * Rebuild an error that crossed the wire as Remix's `error` (+ our `errorCode` extension): the core's
 * wire form; a response without a code (a Remix plugin) is a PLUGIN_ERROR.
 */
export function errorFromWire(message: string, code?: string): SwitchboardError {
  const plugin: EngineErrorCode = 'PLUGIN_ERROR';
  return fromWire({ code: code ?? plugin, message }, { fallbackCode: plugin });
}

/** The core's wire form of any thrown value, in Remix's fields (a plain throw is a PLUGIN_ERROR). */
export function errorToWire(err: unknown): { error: string; errorCode: string } {
  const wire = toWire(err, 'PLUGIN_ERROR' satisfies EngineErrorCode);
  return { error: wire.message, errorCode: wire.code };
}
