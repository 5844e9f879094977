/**
 * CPU time of whole processes (user + system, from /proc/<pid>/stat), so the benchmark can report
 * CPU microseconds per message across every process a system needs (both services, plus the hub
 * or nats-server). Unlike throughput, this barely moves when other work shares the machine.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return NaN;
    }
  }
  return ticks * TICK_MS;
}

/** The pid of a running program by its command name (e.g. nats-server), when /proc shows one. */
export function pidOf(name: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}
