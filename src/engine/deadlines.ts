/**
 * Call deadlines with one timer instead of a setTimeout per call (a setTimeout + clearTimeout pair
 * costs ~3 us, as much as validating a message). Deadlines that arrive in order — the usual case,
 * since most calls use the same timeout — go in a FIFO watched by a single timer; one that would
 * expire before the last queued one gets its own timer.
 *
 * When the last deadline is cancelled the timer is not cleared but unref'd (in Node), so one call
 * at a time does not pay a setTimeout + clearTimeout each: the next deadline is later than the
 * armed timer, which re-arms itself when it fires early. Unref'd, it keeps no process alive.
 */
export interface Deadline {
  cancel(): void;
}

/** What a deadline calls when it passes: a function, or an object (no closure per call on hot paths). */
export type DeadlineTarget = (() => void) | { onDeadline(): void };

class Entry implements Deadline {
  done = false;
  constructor(
    private readonly owner: Deadlines,
    readonly at: number,
    private readonly target: DeadlineTarget,
  ) {}

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.owner.dropDoneHeads();
  }

  fire(): void {
    if (typeof this.target === 'function') this.target();
    else this.target.onDeadline();
  }
}

export class Deadlines {
  private readonly fifo: Entry[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private timerRefed = false;

  add(ms: number, target: DeadlineTarget): Deadline {
    const at = performance.now() + ms;
    const tail = this.fifo.length > this.head ? this.fifo[this.fifo.length - 1]! : undefined;
    if (tail && at < tail.at) {
      const t = setTimeout(() => {
        if (typeof target === 'function') target();
        else target.onDeadline();
      }, ms);
      return { cancel: () => clearTimeout(t) };
    }
    const entry = new Entry(this, at, target);
    this.fifo.push(entry);
    if (this.timer === undefined) this.arm(at);
    else if (at < this.timerAt) {
      clearTimeout(this.timer);
      this.arm(at);
    } // an idle timer armed for a later deadline
    else if (!this.timerRefed) {
      this.timerRefed = true;
      (this.timer as { ref?: () => void }).ref?.();
    }
    return entry;
  }

  private arm(at: number): void {
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()) + 1);
    this.timerRefed = true;
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    while (this.head < this.fifo.length) {
      const e = this.fifo[this.head]!;
      if (!e.done && e.at > now) break;
      this.head++;
      if (!e.done) {
        e.done = true;
        e.fire();
      }
    }
    this.compact();
    const next = this.fifo[this.head];
    if (next && this.timer === undefined) this.arm(next.at);
  }

  /** @internal A deadline was cancelled: forget the cancelled ones at the head. */
  dropDoneHeads(): void {
    while (this.head < this.fifo.length && this.fifo[this.head]!.done) this.head++;
    this.compact();
    if (this.head === this.fifo.length && this.timer !== undefined && this.timerRefed) {
      // Nothing left to watch: let the process exit, but keep the timer for the next deadline.
      const unref = (this.timer as { unref?: () => void }).unref;
      if (unref) {
        unref.call(this.timer);
        this.timerRefed = false;
      } else {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.timerAt = Infinity;
      }
    }
  }

  private compact(): void {
    if (this.head === this.fifo.length) {
      this.fifo.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
  }
}
