/** Durations as people write them on the command line and in manifests: `90s`, `15m`, `2h`, `1d`, `1h30m`. */
import { InvalidArgumentError } from '../core/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds of `text`; throws INVALID_ARGUMENT naming `what` when it is not a duration. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(PART)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    consumed += m[0].length;
  }
  if (!t || consumed !== t.length || !Number.isFinite(total) || total <= 0)
    throw new InvalidArgumentError(
      `${what} must be a duration such as 90s, 15m, 2h or 1d (got ${JSON.stringify(text.slice(0, 40))})`,
    );
  return Math.round(total);
}

/** `5400000` -> `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  let out = '';
  for (const [unit, secs] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= secs) {
      out += `${Math.floor(rest / secs)}${unit}`;
      rest %= secs;
    }
  }
  return out;
}
