/**
 * Every refusal is counted by reason (the `switchboard_refusals_total{reason}` metric) and logged
 * once: the first refusal of a kind (reason + who + rule) is logged at once, the repeats at most
 * once a minute with how many there were, so a client retrying in a loop cannot flood the log.
 */
import type { Logger } from '../core/log.js';
import type { RefusalReason } from './policy.js';

const REPEAT_MS = 60_000;
/** Kinds remembered for throttling; past this the oldest are forgotten (a flood of new names cannot grow it). */
const MAX_KINDS = 1024;

export class RefusalLog {
  private readonly counts = new Map<RefusalReason, number>();
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: Logger) {}

  /** Counts one refusal; logs it when it is the first of its kind or a minute has passed. */
  record(
    reason: RefusalReason,
    fields: { who?: string; rule?: string; remote?: string; what?: string },
    message: string,
  ): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    const key = `${reason}\u0000${fields.who ?? ''}\u0000${fields.rule ?? ''}`;
    const now = Date.now();
    const last = this.seen.get(key);
    if (last && now - last.at < REPEAT_MS) {
      last.suppressed++;
      return;
    }
    if (!last && this.seen.size >= MAX_KINDS) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { at: now, suppressed: 0 });
    this.log.warn(
      { refused: reason, ...fields, ...(last?.suppressed ? { alsoRefused: last.suppressed } : {}) },
      message,
    );
  }

  /** Refusals so far, by reason. */
  totals(): ReadonlyMap<RefusalReason, number> {
    return this.counts;
  }

  total(reason: RefusalReason): number {
    return this.counts.get(reason) ?? 0;
  }
}
