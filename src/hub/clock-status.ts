/**
 * CLOCK_STATUS: is this machine's clock kept right? The hub asks the system's own time tools, in
 * order, and the first one that can tell decides:
 *   - `timedatectl show -p NTP -p NTPSynchronized` (systemd),
 *   - `chronyc -n tracking` (chrony; its "Leap status" line),
 *   - `ntpstat` (ntpd; exit 0 synchronised, 1 not yet, 2 cannot tell).
 * Synchronised -> `CLOCK_STABLE clock_resolution=verified`; time sync on but not synchronised yet
 * -> `CLOCK_UNSTABLE clock_error=checking`; time sync off -> `CLOCK_STABLE clock_resolution=no_ntp`
 * (nothing will step the clock; the communicator answers the same). A tool that is installed but
 * cannot tell (no systemd as PID 1, chronyd or ntpd not running) is skipped; when tools are
 * installed and none can tell the check failed: `CLOCK_UNSTABLE clock_error=invalid`, never a
 * guess. With no tool installed at all: `CLOCK_STABLE clock_resolution=no_ntp`.
 *
 * Each tool runs at most 3 s with 64 KiB of output; the answer is kept for a minute, and callers
 * asking while a check runs share it.
 */
import { execFile } from 'node:child_process';

export type ClockStatus =
  | { command: 'CLOCK_STABLE'; params: { clock_resolution: 'verified' | 'no_ntp' }; source: string }
  | { command: 'CLOCK_UNSTABLE'; params: { clock_error: 'checking' | 'invalid' }; source: string };

/** What one tool said: a status, or that it cannot tell (and why, for the log). */
type Verdict = { kind: 'synchronised' } | { kind: 'not-yet' } | { kind: 'off' } | { kind: 'cannot-tell'; why: string };

interface ToolRun {
  code: number | null;
  stdout: string;
  /** The tool is not installed (ENOENT). */
  missing: boolean;
  error?: string;
}

interface Probe {
  name: string;
  file: string;
  args: string[];
  read(run: ToolRun): Verdict;
}

/** `NTP=yes\nNTPSynchronized=no` (timedatectl's `show` form). */
export function readTimedatectl(stdout: string): Verdict {
  const props = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const synced = props.get('NTPSynchronized');
  const ntp = props.get('NTP');
  if (synced === 'yes') return { kind: 'synchronised' };
  if (synced === 'no' && ntp === 'yes') return { kind: 'not-yet' };
  if (synced === 'no' && ntp === 'no') return { kind: 'off' };
  return { kind: 'cannot-tell', why: 'timedatectl did not report NTPSynchronized' };
}

/** chronyc's `tracking` report: its `Leap status` line. */
export function readChronyTracking(stdout: string): Verdict {
  const m = /^Leap status\s*:\s*(.+)$/m.exec(stdout);
  const leap = m?.[1]?.trim();
  if (leap === undefined) return { kind: 'cannot-tell', why: 'chronyc tracking has no "Leap status" line' };
  if (leap === 'Not synchronised') return { kind: 'not-yet' };
  if (leap === 'Normal' || leap === 'Insert second' || leap === 'Delete second') return { kind: 'synchronised' };
  return { kind: 'cannot-tell', why: `chronyc reports leap status ${JSON.stringify(leap.slice(0, 40))}` };
}

const PROBES: Probe[] = [
  {
    name: 'timedatectl',
    file: 'timedatectl',
    args: ['show', '-p', 'NTP', '-p', 'NTPSynchronized'],
    read: (r) =>
      r.code === 0 ? readTimedatectl(r.stdout) : { kind: 'cannot-tell', why: r.error ?? `timedatectl exit ${r.code}` },
  },
  {
    name: 'chronyc',
    file: 'chronyc',
    args: ['-n', 'tracking'],
    read: (r) =>
      r.code === 0 ? readChronyTracking(r.stdout) : { kind: 'cannot-tell', why: r.error ?? `chronyc exit ${r.code}` },
  },
  {
    name: 'ntpstat',
    file: 'ntpstat',
    args: [],
    read: (r) =>
      r.code === 0
        ? { kind: 'synchronised' }
        : r.code === 1
          ? { kind: 'not-yet' }
          : { kind: 'cannot-tell', why: r.error ?? `ntpstat exit ${r.code}` },
  },
];

const TOOL_TIMEOUT_MS = 3000;
const TOOL_OUTPUT_BYTES = 64 * 1024;

function runTool(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, timeout: TOOL_TIMEOUT_MS, maxBuffer: TOOL_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true },
      (err, stdout) => {
        if (!err) return resolve({ code: 0, stdout, missing: false });
        const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
        if (e.code === 'ENOENT') return resolve({ code: null, stdout: '', missing: true });
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout, missing: false });
        resolve({ code: null, stdout, missing: false, error: e.killed ? `${file} timed out` : e.message });
      },
    );
  });
}

/** Asks the tools in order (see the file comment). `env`: whose PATH finds them. */
export async function checkClock(env: NodeJS.ProcessEnv = process.env): Promise<ClockStatus & { why?: string }> {
  const reasons: string[] = [];
  for (const probe of PROBES) {
    const run = await runTool(probe.file, probe.args, env);
    if (run.missing) continue;
    const v = probe.read(run);
    switch (v.kind) {
      case 'synchronised':
        return { command: 'CLOCK_STABLE', params: { clock_resolution: 'verified' }, source: probe.name };
      case 'off':
        return { command: 'CLOCK_STABLE', params: { clock_resolution: 'no_ntp' }, source: probe.name };
      case 'not-yet':
        return { command: 'CLOCK_UNSTABLE', params: { clock_error: 'checking' }, source: probe.name };
      case 'cannot-tell':
        reasons.push(`${probe.name}: ${v.why}`);
        continue;
    }
  }
  if (reasons.length === 0)
    return { command: 'CLOCK_STABLE', params: { clock_resolution: 'no_ntp' }, source: 'none installed' };
  return {
    command: 'CLOCK_UNSTABLE',
    params: { clock_error: 'invalid' },
    source: 'no tool could tell',
    why: reasons.join('; ').slice(0, 500),
  };
}

/** The hub's clock check: one answer per minute, shared by the callers that ask while it runs. */
export class ClockCheck {
  private last: { at: number; status: Promise<ClockStatus & { why?: string }> } | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly keepMs = 60_000,
  ) {}

  status(now = Date.now()): Promise<ClockStatus & { why?: string }> {
    if (this.last && now - this.last.at < this.keepMs) return this.last.status;
    const status = checkClock(this.env);
    this.last = { at: now, status };
    return status;
  }
}
