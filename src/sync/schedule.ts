/**
 * Schedules: `every 15m` or `cron 0 * * * *` on an account (croner parses cron, with an optional
 * seconds field), and the claim that makes a due sync run exactly once however many sync services
 * share the store: the service that moves the account's `next_run_at` from the due value to the
 * next one (a conditional UPDATE, atomic on both backends) runs it; the others see 0 rows changed.
 * A small random delay (jitter, at most a tenth of the period and 60 s) spreads accounts that share
 * a schedule. A run missed while no service ran is made up once, not once per missed slot.
 */
import { Cron } from 'croner';
import { InvalidArgumentError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import { accountFromRow, ACCOUNT_COLUMNS, resolveAccount } from './accounts.js';
import { formatDuration, parseDuration } from './duration.js';
import type { Account } from './types.js';

/** Shortest `every`: a second (what tests and demos need; a real source wants minutes). */
const MIN_EVERY_MS = 1000;
const MAX_JITTER_MS = 60_000;

export type Schedule = { kind: 'every'; ms: number; text: string } | { kind: 'cron'; cron: Cron; text: string };

function cronOf(expr: string): Cron {
  try {
    return new Cron(expr, { paused: true, mode: '5-or-6-parts' });
  } catch (err) {
    throw new InvalidArgumentError(
      `the cron expression ${JSON.stringify(expr)} is not valid: ${(err as Error).message} (e.g. '0 * * * *' for every hour, '*/15 * * * *' every 15 minutes)`,
    );
  }
}

/** From the CLI/API: exactly one of `every` and `cron`. */
export function scheduleFrom(input: { every?: string; cron?: string }): Schedule {
  if ((input.every === undefined) === (input.cron === undefined))
    throw new InvalidArgumentError('give either --every DURATION (e.g. 15m) or --cron EXPRESSION, or --off');
  if (input.every !== undefined) {
    const ms = parseDuration(input.every, '--every');
    if (ms < MIN_EVERY_MS) throw new InvalidArgumentError(`--every must be at least 1s (got ${input.every})`);
    return { kind: 'every', ms, text: `every ${formatDuration(ms)}` };
  }
  const expr = input.cron!.trim().replace(/\s+/g, ' ');
  return { kind: 'cron', cron: cronOf(expr), text: `cron ${expr}` };
}

/** The stored text (`every 15m`, `cron 0 * * * *`) back into a schedule. */
export function parseSchedule(text: string): Schedule {
  if (text.startsWith('every ')) return scheduleFrom({ every: text.slice(6) });
  if (text.startsWith('cron ')) return scheduleFrom({ cron: text.slice(5) });
  throw new InvalidArgumentError(`not a schedule: ${JSON.stringify(text)}`);
}

/** The first nominal time strictly after `after`. */
export function nextAfter(s: Schedule, after: Date): Date {
  if (s.kind === 'every') return new Date(after.getTime() + s.ms);
  const next = s.cron.nextRun(after);
  if (!next) throw new InvalidArgumentError(`the schedule "${s.text}" never runs again`);
  return next;
}

function periodMs(s: Schedule, from: Date): number {
  if (s.kind === 'every') return s.ms;
  const [a, b] = s.cron.nextRuns(2, from);
  return a && b ? b.getTime() - a.getTime() : MAX_JITTER_MS * 10;
}

/** The next run with its jitter: what `next_run_at` holds. */
export function nextRunAt(s: Schedule, after: Date, random: () => number = Math.random): Date {
  const nominal = nextAfter(s, after);
  const jitter = Math.floor(random() * Math.min(periodMs(s, after) / 10, MAX_JITTER_MS));
  return new Date(nominal.getTime() + jitter);
}

/** Sets or (with null) removes an account's schedule; returns the account with its next run. */
export async function setSchedule(db: Db, ref: string, schedule: Schedule | null): Promise<Account> {
  const account = await resolveAccount(db, ref);
  const next = schedule ? nextRunAt(schedule, new Date()).toISOString() : null;
  await db.exec('UPDATE accounts SET schedule = ?, next_run_at = ? WHERE id = ?', [
    schedule?.text ?? null,
    next,
    account.id,
  ]);
  return { ...account, schedule: schedule?.text ?? null, nextRunAt: next };
}

/**
 * Accounts due at `now` that this caller claimed: each has had its `next_run_at` moved on, by this
 * caller alone. An account whose stored schedule no longer parses is switched off, not retried.
 */
export async function claimDue(db: Db, now = new Date()): Promise<Account[]> {
  const due = await db.query<Parameters<typeof accountFromRow>[0]>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE schedule IS NOT NULL AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at`,
    [now.toISOString()],
  );
  const claimed: Account[] = [];
  for (const row of due) {
    const account = accountFromRow(row);
    let next: string | null;
    try {
      next = nextRunAt(parseSchedule(account.schedule!), now).toISOString();
    } catch {
      next = null;
    }
    const n = await db.exec('UPDATE accounts SET next_run_at = ? WHERE id = ? AND next_run_at = ?', [
      next,
      account.id,
      account.nextRunAt,
    ]);
    if (n === 1 && next !== null) claimed.push({ ...account, nextRunAt: next });
  }
  return claimed;
}

/** The earliest `next_run_at` of any account, for the scheduler's next wake-up. */
export async function earliestNextRun(db: Db): Promise<Date | undefined> {
  const [row] = await db.query<{ t: string | null }>(
    'SELECT MIN(next_run_at) AS t FROM accounts WHERE schedule IS NOT NULL AND next_run_at IS NOT NULL',
  );
  return row?.t ? new Date(row.t) : undefined;
}
