/**
 * Reconnect delays. The communicator's permanent connection waits 1,1,1,3,5,10,20,30,60 seconds
 * between attempts and then keeps waiting 60 s; tests pass shorter lists.
 */
export const COMMUNICATOR_BACKOFF_MS: readonly number[] = [1, 1, 1, 3, 5, 10, 20, 30, 60].map((s) => s * 1000);

/** Delay before reconnect attempt `attempt` (0-based): the list's entry, then its last one forever. */
export function backoffDelay(delaysMs: readonly number[], attempt: number): number {
  if (delaysMs.length === 0) return 0;
  return delaysMs[Math.min(attempt, delaysMs.length - 1)] ?? 0;
}
