/**
 * The dashboard's view of the dispatcher's dead letters (RabbitMQ's `<prefix>.dead`): the same
 * library calls as `switchboard trigger dead` and `trigger replay --dead`, over the AMQP URL
 * `switchboard start` was given (`--amqp`, SWITCHBOARD_AMQP_URL; the prefix SWITCHBOARD_AMQP_PREFIX).
 * Without one there is nothing to read, and the answer says how to give it.
 *
 * Looking at the queue takes its letters for a moment (and puts them back), so two looks or a look
 * and a replay at once would each miss what the other holds: this process does one at a time, a
 * look asked while the same look is waiting shares its answer, and a few requests wait at most.
 */
import { SwitchboardError } from '../core/errors.js';
import type { DeadLetter, ReplayOutcome } from '../dispatch/transport/dead-letters.js';
import { names } from '../dispatch/transport/topology.js';

export interface DeadLetterSettings {
  /** An administrator's AMQP URL (it reads and takes from `<prefix>.dead`). */
  url: string;
  prefix?: string | undefined;
}

export interface DeadLettersView {
  /** The queue read; null when the dashboard has no AMQP URL (then `why` says how to give one). */
  queue: string | null;
  why?: string;
  total: number;
  letters: DeadLetter[];
}

/** Requests waiting for the broker at once; more are refused (503) with a sentence. */
export const MAX_WAITING = 8;
/** A reason is cut here for the page (the CLI's `trigger dead --json` has it whole). */
const MAX_REASON = 2000;

/** Why this dashboard shows no dead letters, and how to give it what it needs. */
export const NO_BROKER =
  'dead letters live on RabbitMQ, and this dashboard has no AMQP URL: its dispatcher runs over the hub, which sets nothing aside (a message the dispatcher cannot take is refused to its sender). To see and replay a RabbitMQ dispatcher\'s dead letters here, start switchboard with --amqp URL or SWITCHBOARD_AMQP_URL set (an administrator user of the broker: it reads <prefix>.dead; the prefix is SWITCHBOARD_AMQP_PREFIX, default "switchboard")';

/** The dashboard has no AMQP URL: a replay cannot be done (409, with how to give one). */
export class NoBrokerError extends SwitchboardError {
  constructor() {
    super('CONFLICT', NO_BROKER, { data: { broker: null } });
  }
}

export class DeadLetterDesk {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  /** Looks queued and not started yet, by limit: a second one shares the first's answer. */
  private readonly queuedLooks = new Map<number, Promise<DeadLettersView>>();

  constructor(private readonly broker: DeadLetterSettings | undefined) {}

  /** The letters, oldest first (at most `limit`), and how many there are. */
  list(limit: number): Promise<DeadLettersView> {
    const broker = this.broker;
    if (!broker) return Promise.resolve({ queue: null, why: NO_BROKER, total: 0, letters: [] });
    const queued = this.queuedLooks.get(limit);
    if (queued) return queued;
    const look = this.inTurn(async () => {
      this.queuedLooks.delete(limit);
      const { listDeadLetters } = await import('../dispatch/transport/dead-letters.js');
      const { total, letters } = await listDeadLetters({ url: broker.url, prefix: broker.prefix, limit }).catch(
        (err: unknown) => {
          throw this.explain(err);
        },
      );
      return { queue: this.queue(), total, letters: letters.map(forPage) };
    });
    this.queuedLooks.set(limit, look);
    // A refused look (too many waiting) never started: it must not be shared.
    look.catch(() => {
      if (this.queuedLooks.get(limit) === look) this.queuedLooks.delete(limit);
    });
    return look;
  }

  /** Sends the named letters (or every one) back to the dispatcher; see `replayDeadLetters`. */
  replay(choice: { ids: readonly string[] } | { all: true }, limit: number): Promise<ReplayOutcome> {
    const broker = this.broker;
    if (!broker) return Promise.reject(new NoBrokerError());
    return this.inTurn(async () => {
      const { replayDeadLetters } = await import('../dispatch/transport/dead-letters.js');
      const out = await replayDeadLetters({
        url: broker.url,
        prefix: broker.prefix,
        limit,
        ...('all' in choice ? { all: true } : { ids: choice.ids }),
      }).catch((err: unknown) => {
        throw this.explain(err);
      });
      return {
        replayed: out.replayed.map(forPage),
        refused: out.refused.map((r) => ({ letter: forPage(r.letter), reason: r.reason })),
        missing: out.missing,
      };
    });
  }

  private queue(): string {
    return names(this.broker?.prefix).dead;
  }

  /** Runs `fn` after what is already running or waiting; refuses when too many wait. */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    if (this.waiting >= MAX_WAITING)
      return Promise.reject(
        new SwitchboardError(
          'UNAVAILABLE',
          `the dashboard is already reading the dead letters for ${MAX_WAITING} requests: try again in a moment`,
        ),
      );
    this.waiting++;
    const run = this.tail.then(fn, fn).finally(() => {
      this.waiting--;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The library's sentence for a missing queue speaks of the CLI's --prefix: say it the dashboard's way. */
  private explain(err: unknown): unknown {
    if (err instanceof SwitchboardError && err.code === 'NOT_FOUND')
      return new SwitchboardError(
        'NOT_FOUND',
        `there is no queue ${this.queue()} on the broker: no dispatcher with the prefix "${names(this.broker?.prefix).prefix}" has run there yet (the prefix is SWITCHBOARD_AMQP_PREFIX)`,
        { cause: err },
      );
    return err;
  }
}

function forPage(letter: DeadLetter): DeadLetter {
  return letter.reason.length > MAX_REASON
    ? {
        ...letter,
        reason: `${letter.reason.slice(0, MAX_REASON)}… (cut; \`switchboard trigger dead --json\` has it whole)`,
      }
    : letter;
}
