/** Messages between the benchmark's orchestrator and its worker processes (over Node IPC). */
/**
 * `switchboard`: the hub as it starts by default (identities on: the services are unauthenticated
 * local processes, so every line is checked against the local role, one map lookup);
 * `switchboard-open`: the same hub with `--local-trust full` (every local connection may do
 * anything: the check is one flag).
 */
export type SystemName = 'switchboard' | 'switchboard-open' | 'nats' | 'moleculer' | 'direct';

export type ToWorker =
  | { type: 'reset' }
  | { type: 'count' }
  | { type: 'oneway'; durationMs: number }
  | { type: 'rr'; durationMs: number; inflight: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; address?: string }
  | { type: 'count'; count: number; firstNs: number; lastNs: number }
  | { type: 'oneway-done'; sent: number }
  | { type: 'rr-done'; count: number; elapsedMs: number; p50us: number; p99us: number }
  | { type: 'error'; message: string };

/** The 100-byte parameter every system carries. */
export const PAYLOAD = 'x'.repeat(100);
