/**
 * The mesh's delays, the communicator's by default (reconnect 1 min, 5 min after DISCONNECT,
 * gossip 5 s doubling to 1 h, broadcasts live 10 s, 3 auth failures in 15 min block 1 h).
 * Test clusters pass short timings with `--mesh-timings fast` or `name=ms,...`.
 */
import { InvalidArgumentError } from '../core/errors.js';

export interface MeshTimings {
  /** Wait before reconnecting a link that dropped. */
  reconnectMs: number;
  /** Wait before reconnecting to a hub that said DISCONNECT (it is stopping). */
  reconnectAfterDisconnectMs: number;
  /** First GOSSIP retry delay; doubles up to `gossipMaxMs`. */
  gossipInitialMs: number;
  gossipMaxMs: number;
  /** How long a broadcast stays valid (`broadcast_timeout` = now + this). */
  broadcastTimeoutMs: number;
  /** A CONNECT that gets no answer within this is abandoned. */
  handshakeTimeoutMs: number;
  /** Link keep-alive: an idle link is pinged after this; no answer for 2x closes it. 0 = off. */
  keepAliveMs: number;
  /** Each hub re-floods its link state this often, healing any state a full queue dropped. 0 = off. */
  refreshMs: number;
  authFailureWindowMs: number;
  authMaxFailures: number;
  authBlockMs: number;
}

export const DEFAULT_TIMINGS: Readonly<MeshTimings> = Object.freeze({
  reconnectMs: 60_000,
  reconnectAfterDisconnectMs: 300_000,
  gossipInitialMs: 5_000,
  gossipMaxMs: 3_600_000,
  broadcastTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  keepAliveMs: 30_000,
  refreshMs: 60_000,
  authFailureWindowMs: 15 * 60_000,
  authMaxFailures: 3,
  authBlockMs: 3_600_000,
});

/** Short timings for test clusters and benchmarks: seconds become tens of milliseconds. */
export const FAST_TIMINGS: Readonly<MeshTimings> = Object.freeze({
  ...DEFAULT_TIMINGS,
  reconnectMs: 200,
  reconnectAfterDisconnectMs: 500,
  gossipInitialMs: 100,
  gossipMaxMs: 2_000,
  handshakeTimeoutMs: 2_000,
  keepAliveMs: 1_000,
  refreshMs: 5_000,
});

const KEYS = Object.keys(DEFAULT_TIMINGS) as (keyof MeshTimings)[];

/**
 * Parses `default`, `fast`, or `[fast,]name=ms,name=ms` (names as in MeshTimings, e.g.
 * `fast,authBlockMs=5000`).
 */
export function parseTimings(spec: string | undefined): MeshTimings {
  const out: MeshTimings = { ...DEFAULT_TIMINGS };
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
    const key = m?.[1] as keyof MeshTimings | undefined;
    if (!m || !key || !KEYS.includes(key)) {
      throw new InvalidArgumentError(
        `mesh timing "${part}" is not understood; use "fast" or name=milliseconds with a name among ${KEYS.join(', ')}`,
      );
    }
    out[key] = Number(m[2]);
  }
  return out;
}
