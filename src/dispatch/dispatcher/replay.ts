/**
 * Replaying failed executions, for the CLI (`switchboard trigger replay`) and the dashboard alike:
 * choose them (by id, by trigger, all, since a time), and mark each to be tried again with its
 * trigger's tries; a running dispatcher sends them within a second (the store is the only link,
 * so it works whichever dispatcher, on whichever machine, picks them up).
 */
import { InvalidArgumentError, SwitchboardError } from '../../core/errors.js';
import { actionPolicy } from '../trigger/schema.js';
import type { DispatchDb } from './db.js';
import type { ExecutionRecord } from './types.js';

export interface ReplayChoice {
  ids?: readonly string[];
  /** Every failed execution of this trigger. */
  trigger?: string;
  /** Every failed execution. */
  all?: boolean;
  /** Only those first dispatched at or after this ISO time. */
  since?: string;
  /** Most replayed at once (default 1000). */
  limit?: number;
  /** Say what would be replayed, change nothing. */
  dryRun?: boolean;
}

export interface ReplayResult {
  replayed: ExecutionRecord[];
  refused: { id: string; reason: string }[];
  /** More failed executions matched than `limit` allowed. */
  more: boolean;
}

export const DEFAULT_REPLAY_LIMIT = 1000;

export async function replayFailed(db: DispatchDb, choice: ReplayChoice): Promise<ReplayResult> {
  const limit = choice.limit ?? DEFAULT_REPLAY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidArgumentError(`the limit is a whole number of executions, 1 or more (got ${limit})`);
  let ids = [...(choice.ids ?? [])];
  let more = false;
  if (!ids.length) {
    if (!choice.all && !choice.trigger)
      throw new InvalidArgumentError(
        'name the executions to replay (ids from `switchboard trigger log --status failed`), or give --trigger NAME, or --all for every failed one',
      );
    const found = await db.listExecutions({
      status: 'failed',
      limit: limit + 1,
      ...(choice.trigger ? { trigger: choice.trigger } : {}),
      ...(choice.since ? { since: choice.since } : {}),
    });
    more = found.length > limit;
    ids = found.slice(0, limit).map((x) => x.id);
  } else if (ids.length > limit)
    throw new InvalidArgumentError(`${ids.length} executions named; at most ${limit} are replayed at once`);
  // Each gets its trigger's tries again (one, when the trigger is gone or disabled since).
  const tries = new Map((await db.listTriggers()).map((t) => [t.name, actionPolicy(t.spec.then).attempts]));
  if (choice.dryRun) {
    const replayed: ExecutionRecord[] = [];
    const refused: { id: string; reason: string }[] = [];
    for (const id of ids) {
      const x = await db.getExecution(id);
      if (!x) refused.push({ id, reason: `no execution ${id} (see \`switchboard trigger log\`)` });
      else if (x.status !== 'failed') refused.push({ id, reason: `execution ${id} is ${x.status}, not failed` });
      else replayed.push(x);
    }
    return { replayed, refused, more };
  }
  const r = await db.replayExecutions(ids, (trigger) => tries.get(trigger) ?? 1);
  return { ...r, more };
}

/** The one execution the dashboard's button replays: refused with the reason when it cannot be. */
export async function replayOne(db: DispatchDb, id: string): Promise<ExecutionRecord> {
  const r = await replayFailed(db, { ids: [id] });
  if (r.replayed[0]) return r.replayed[0];
  const reason = r.refused[0]?.reason ?? `execution ${id} was not replayed`;
  throw new SwitchboardError(reason.startsWith('no execution') ? 'NOT_FOUND' : 'CONFLICT', reason);
}
