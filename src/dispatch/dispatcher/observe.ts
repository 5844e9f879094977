/**
 * Action outcomes as they happen, for metrics (the dashboard's action counter and latency
 * histogram). Process-wide on purpose: `switchboard start` runs the dispatcher and the dashboard
 * as two built-in services that do not hold each other, and a listener costs nothing when absent.
 */
export type ActionStatus = 'done' | 'failed' | 'expired' | 'unsent';

export interface ActionOutcome {
  status: ActionStatus;
  trigger: string;
  /** From the dispatch (trigger matched, task sent) to the result; absent when not known here (unsent, or dispatched by another process). */
  latencyMs?: number;
}

const listeners = new Set<(outcome: ActionOutcome) => void>();

/** Calls `listener` for every action outcome in this process; returns the remover. */
export function observeActions(listener: (outcome: ActionOutcome) => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function hasActionObservers(): boolean {
  return listeners.size > 0;
}

export function reportAction(outcome: ActionOutcome): void {
  for (const l of listeners) {
    try {
      l(outcome);
    } catch {
      /* an observer's bug must not fail a dispatch */
    }
  }
}
