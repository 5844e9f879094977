/**
 * Errors of the plugin engine: all SwitchboardErrors with stable codes. Messages keep Remix's
 * `[TIMEOUT]` / `[CANCEL]` prefixes so code that matched on them keeps working.
 */
import { SwitchboardError, TimeoutError, ConnectionError, type ErrorCode } from '../core/errors.js';

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

/** Rebuild an error that crossed the wire as `error` (+ our `errorCode` extension). */
export function errorFromWire(message: string, code?: string): SwitchboardError {
  const known: ErrorCode[] = [
    'TIMEOUT',
    'CANCELLED',
    'NOT_FOUND',
    'PERMISSION_DENIED',
    'UNAVAILABLE',
    'CONNECTION_CLOSED',
    'INVALID_ARGUMENT',
    'INVALID_MESSAGE',
    'REFUSED',
    'CONFLICT',
    'INTERNAL',
    'PLUGIN_ERROR',
  ];
  const c = known.find((k) => k === code) ?? 'PLUGIN_ERROR';
  return new SwitchboardError(c, message, {
    retryable: c === 'TIMEOUT' || c === 'UNAVAILABLE' || c === 'CONNECTION_CLOSED',
  });
}

/** Message + code of any thrown value, for the wire. */
export function errorToWire(err: unknown): { error: string; errorCode: string } {
  if (err instanceof SwitchboardError) return { error: err.message, errorCode: err.code };
  if (err instanceof Error) return { error: err.message, errorCode: 'PLUGIN_ERROR' };
  return { error: String(err), errorCode: 'PLUGIN_ERROR' };
}
