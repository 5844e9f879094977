/**
 * Call deadlines with one timer instead of a setTimeout per call (a setTimeout + clearTimeout pair
 * costs ~3 us, as much as validating a message). Deadlines that arrive in order — the usual case,
 * since most calls use the same timeout — go in a FIFO watched by a single timer; one that would
 * expire before the last queued one gets its own timer.
 */
export interface Deadline {
  cancel(): void;
}

interface Entry extends Deadline {
  at: number;
  fire: () => void;
  done: boolean;
}

export class Deadlines {
  private readonly fifo: Entry[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  add(ms: number, fire: () => void): Deadline {
    const at = performance.now() + ms;
    const tail = this.fifo.length > this.head ? this.fifo[this.fifo.length - 1]! : undefined;
    if (tail && at < tail.at) {
      const t = setTimeout(fire, ms);
      return { cancel: () => clearTimeout(t) };
    }
    const entry: Entry = {
      at,
      fire,
      done: false,
      cancel: () => {
        if (entry.done) return;
        entry.done = true;
        this.dropDoneHeads();
      },
    };
    this.fifo.push(entry);
    if (this.timer === undefined) this.arm(at);
    return entry;
  }

  private arm(at: number): void {
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()) + 1);
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    while (this.head < this.fifo.length) {
      const e = this.fifo[this.head]!;
      if (!e.done && e.at > now) break;
      this.head++;
      if (!e.done) { e.done = true; e.fire(); }
    }
    this.compact();
    const next = this.fifo[this.head];
    if (next && this.timer === undefined) this.arm(next.at);
  }

  private dropDoneHeads(): void {
    while (this.head < this.fifo.length && this.fifo[this.head]!.done) this.head++;
    this.compact();
    if (this.head === this.fifo.length && this.timer !== undefined) {
      // Nothing left to watch: let the process exit.
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
    }
  }

  private compact(): void {
    if (this.head === this.fifo.length) { this.fifo.length = 0; this.head = 0; }
    else if (this.head > 1024 && this.head * 2 > this.fifo.length) { this.fifo.splice(0, this.head); this.head = 0; }
  }
}
