/**
 * One log line per cause per interval, with a count: a fault that repeats (a flood of refused
 * datagrams, a client retrying a bad request in a loop) writes its first line at once, then at
 * most one line per interval saying how many were left out, so no input can flood the log.
 * Causes are remembered up to a bound (the oldest forgotten first): new causes cannot grow it.
 */
import type { Logger } from './log.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

export class LogThrottle {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    /** Interval between two lines of one cause, in ms. */
    private readonly everyMs = 10_000,
    private readonly maxCauses = 1024,
  ) {}

  /**
   * Logs `message` with `fields` unless `cause` was logged less than an interval ago (then it is
   * only counted). The line after a quiet spell carries `alsoSeen`: how many were left out.
   */
  write(level: Level, cause: string, fields: Record<string, unknown>, message: string, now = Date.now()): void {
    const last = this.seen.get(cause);
    if (last !== undefined && now - last.at < this.everyMs) {
      last.suppressed++;
      return;
    }
    if (last === undefined && this.seen.size >= this.maxCauses) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(cause, { at: now, suppressed: 0 });
    this.log[level](last?.suppressed ? { ...fields, alsoSeen: last.suppressed } : fields, message);
  }

  warn(cause: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', cause, fields, message);
  }

  info(cause: string, fields: Record<string, unknown>, message: string): void {
    this.write('info', cause, fields, message);
  }

  error(cause: string, fields: Record<string, unknown>, message: string): void {
    this.write('error', cause, fields, message);
  }
}
