/**
 * The backplane's delays. A hub says it is alive every `heartbeatMs`; a hub not heard for
 * `deadAfterMs` is down (its services are down for everyone else). Test clusters pass
 * `SWITCHBOARD_BACKPLANE_TIMINGS=fast` or `name=ms,...`.
 */
import { InvalidArgumentError } from '../core/errors.js';

export interface BackplaneTimings {
  heartbeatMs: number;
  deadAfterMs: number;
  /** A message that asked for caching waits this long for the receiving hub's confirmation. */
  confirmMs: number;
  /** Local registry changes within this window go out as one state message. */
  stateDelayMs: number;
  /** First wait before the cache retries a JetStream write or the stream setup; doubles up to 2 s. */
  retryMs: number;
  /** Wait before reconnecting to a NATS server. */
  reconnectMs: number;
}

export const DEFAULT_TIMINGS: Readonly<BackplaneTimings> = Object.freeze({
  heartbeatMs: 1_000,
  deadAfterMs: 3_500,
  confirmMs: 5_000,
  stateDelayMs: 20,
  retryMs: 100,
  reconnectMs: 500,
});

export const FAST_TIMINGS: Readonly<BackplaneTimings> = Object.freeze({
  heartbeatMs: 200,
  deadAfterMs: 1_000,
  confirmMs: 2_000,
  stateDelayMs: 5,
  retryMs: 50,
  reconnectMs: 100,
});

const KEYS = Object.keys(DEFAULT_TIMINGS) as (keyof BackplaneTimings)[];

/** `default`, `fast`, or `[fast,]name=ms,...` (names as in BackplaneTimings). */
export function parseTimings(spec: string | undefined): BackplaneTimings {
  const out: BackplaneTimings = { ...DEFAULT_TIMINGS };
  if (!spec) return out;
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (part === 'default') continue;
    if (part === 'fast') {
      Object.assign(out, FAST_TIMINGS);
      continue;
    }
    const m = /^([A-Za-z]+)=(\d+)$/.exec(part);
    const key = m?.[1] as keyof BackplaneTimings | undefined;
    if (!m || !key || !KEYS.includes(key) || Number(m[2]) <= 0) {
      throw new InvalidArgumentError(
        `backplane timing "${part}" is not understood; use "fast" or name=milliseconds (more than 0) with a name among ${KEYS.join(', ')}`,
      );
    }
    out[key] = Number(m[2]);
  }
  if (out.deadAfterMs <= out.heartbeatMs)
    throw new InvalidArgumentError(
      `backplane timing deadAfterMs (${out.deadAfterMs}) must be longer than heartbeatMs (${out.heartbeatMs}), or every hub looks dead between two heartbeats`,
    );
  return out;
}
