/** What Linux tells about a process (/proc) and the machine, for the scaling curves. */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Resident memory of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Bytes `pid` handed to write-like system calls so far (sockets and pipes included). */
export function writtenBytes(pid: number): number {
  const m = /wchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** This process's open-file limits (soft, hard). */
export function fileLimits(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const parts = line?.trim().split(/\s+/) ?? [];
  const num = (s: string | undefined) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(parts[3]), hard: num(parts[4]) };
}

/** The 1-minute load average, rounded, written next to every figure. */
export function load(): number {
  return Math.round(loadavg()[0]! * 10) / 10;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
