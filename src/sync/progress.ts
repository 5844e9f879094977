/**
 * What `switchboard sync` shows while it runs: on a TTY, one redrawn line per account with a bar
 * (filled against the account's last successful run, when there is one), objects, pages and
 * rate; otherwise plain lines, at most one per account per second plus start and finish.
 */
import type { SyncProgress } from './runner.js';

const BAR = 24;

function rate(objects: number, ms: number): string {
  return `${Math.round(objects / Math.max(ms / 1000, 0.001)).toLocaleString('en-US')} objects/s`;
}

function label(p: SyncProgress): string {
  return `${p.account.connector}/${p.account.name}`;
}

export function finishLine(p: SyncProgress): string {
  const run = p.run!;
  const secs = (p.elapsedMs / 1000).toFixed(1);
  if (run.success)
    return `${label(p)}: ok, run ${run.id}: ${run.objects.toLocaleString('en-US')} objects in ${run.pages} pages, ${secs} s (${rate(run.objects, p.elapsedMs)})`;
  return `${label(p)}: FAILED, run ${run.id} after ${run.objects.toLocaleString('en-US')} objects in ${run.pages} pages, ${secs} s: ${run.error ?? 'unknown error'}`;
}

export interface ProgressView {
  update(p: SyncProgress): void;
  /** Stops redrawing (TTY) so final lines print below the bars. */
  close(): void;
}

export function plainProgress(write: (line: string) => void): ProgressView {
  const last = new Map<number, number>();
  return {
    update(p) {
      if (p.phase === 'started') {
        write(`${label(p)}: started run ${p.runId}`);
        return;
      }
      if (p.phase === 'finished') {
        write(finishLine(p));
        return;
      }
      const now = Date.now();
      if (now - (last.get(p.runId) ?? 0) < 1000) return;
      last.set(p.runId, now);
      write(
        `${label(p)}: ${p.objects.toLocaleString('en-US')} objects, ${p.pages} pages, ${rate(p.objects, p.elapsedMs)}`,
      );
    },
    close() {},
  };
}

/** Redraws a block of lines on `stream` (a TTY) at most every 100 ms. */
export function ttyProgress(
  stream: NodeJS.WriteStream,
  expected: (accountId: number) => number | undefined,
): ProgressView {
  const rows = new Map<number, SyncProgress>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;
  const bar = (p: SyncProgress): string => {
    const total = expected(p.account.id);
    if (p.phase === 'finished') return `[${(p.run?.success ? '=' : 'x').repeat(BAR)}]`;
    if (total && total > 0) {
      const filled = Math.min(BAR, Math.round((p.objects / total) * BAR));
      return `[${'='.repeat(filled)}${' '.repeat(BAR - filled)}]`;
    }
    const pos = frame % (2 * (BAR - 3));
    const at = pos < BAR - 3 ? pos : 2 * (BAR - 3) - pos;
    return `[${' '.repeat(at)}<=>${' '.repeat(BAR - 3 - at)}]`;
  };
  const draw = () => {
    frame++;
    const width = stream.columns || 100;
    let out = drawn ? `\x1b[${drawn}A` : '';
    for (const p of rows.values()) {
      const status = p.phase === 'finished' ? (p.run?.success ? 'done' : 'failed') : `${rate(p.objects, p.elapsedMs)}`;
      const line = `${bar(p)} ${label(p)}  ${p.objects.toLocaleString('en-US')} objects  ${p.pages} pages  ${status}`;
      out += `\x1b[2K${line.slice(0, width - 1)}\n`;
    }
    drawn = rows.size;
    stream.write(out);
  };
  return {
    update(p) {
      rows.set(p.runId, p);
      timer ??= setInterval(draw, 100);
      if (p.phase !== 'page') draw();
    },
    close() {
      if (timer) clearInterval(timer);
      if (rows.size) draw();
    },
  };
}
