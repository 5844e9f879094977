/**
 * The trigger model: when a connector (or any connector of a kind) emits an event, and every filter
 * holds on the event data, run a task on another connector (or one of a kind) with inputs that are
 * constants or references to event fields.
 *
 *   name: paid-order
 *   when: { kind: webhook, event: request }
 *   filters:
 *     - { path: body.amount, op: gt, value: 100 }
 *   then:
 *     kind: http-request
 *     task: request
 *     inputs:
 *       url: http://127.0.0.1:8080/notify
 *       body: { $ref: data.body }          # a reference into the event
 *
 * Instead of a task, `then: { sync: ACCOUNT }` starts a sync of that account (its id,
 * `connector/name`, or its name); the execution ends with the run and names it.
 *
 * An action may be tried again (`attempts: 3`, `backoff: 2s` doubling each try or
 * `{ delay, factor, max }`), each try limited in time (`timeout: 30s`), and its result emitted as an
 * event (`emit: KEY`) that other triggers listen to (a chain; the dispatcher stops chains at
 * MAX_CHAIN_HOPS).
 *
 * References: `{ $ref: "data.<path>" }` reads the event data, `{ $ref: "event.id|key|connector|kind|time" }`
 * reads the event's envelope; `{ $const: <value> }` passes a value literally (even one holding `$ref`).
 */
import { z } from 'zod';
import type { JsonValue } from '../../core/message.js';
import { formatDuration, parseDuration } from '../../sync/duration.js';

export const FILTER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'include', 'exists', 'regex'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const name = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(200)
    .regex(NAME, `${what} may hold letters, digits and _ . : - only`);
const PATH = /^[^.\s]+(\.[^.\s]+)*$/;

const jsonValue: z.ZodType<JsonValue> = z.json() as z.ZodType<JsonValue>;

export const filterSchema = z
  .strictObject({
    path: z.string().regex(PATH, 'path must be dotted segments like body.items.0.price'),
    op: z.enum(FILTER_OPS, { error: `op must be one of ${FILTER_OPS.join(', ')}` }),
    value: jsonValue.optional(),
  })
  .superRefine((f, ctx) => {
    const bad = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    switch (f.op) {
      case 'exists':
        if (f.value !== undefined && typeof f.value !== 'boolean') bad('exists takes true, false or no value');
        break;
      case 'in':
        if (!Array.isArray(f.value)) bad('in takes a list of values');
        break;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (typeof f.value !== 'number' && typeof f.value !== 'string') bad(`${f.op} takes a number or a string`);
        break;
      case 'regex':
        if (typeof f.value !== 'string') {
          bad('regex takes a pattern string');
          break;
        }
        try {
          new RegExp(f.value);
        } catch (err) {
          bad(`invalid regular expression: ${(err as Error).message}`);
        }
        break;
      default:
        if (f.value === undefined) bad(`${f.op} needs a value`);
    }
  });
export type Filter = z.infer<typeof filterSchema>;

const ENVELOPE_FIELDS = ['id', 'key', 'connector', 'kind', 'time'];

/** Checks every `$ref` in an input value; returns the problems with their path. */
function checkRefs(value: JsonValue, path: (string | number)[], ctx: z.RefinementCtx): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkRefs(v, [...path, i], ctx));
    return;
  }
  if ('$const' in value) {
    if (Object.keys(value).length !== 1)
      ctx.addIssue({ code: 'custom', path, message: '$const must be the only key of its object' });
    return;
  }
  if ('$ref' in value) {
    const ref = value.$ref;
    const where = [...path, '$ref'];
    if (Object.keys(value).length !== 1)
      ctx.addIssue({
        code: 'custom',
        path,
        message: '$ref must be the only key of its object (use $const for a literal)',
      });
    if (typeof ref !== 'string') {
      ctx.addIssue({ code: 'custom', path: where, message: '$ref must be a string like data.body.id or event.id' });
      return;
    }
    const [root, ...rest] = ref.split('.');
    if (root === 'data') {
      if (rest.some((s) => s === ''))
        ctx.addIssue({ code: 'custom', path: where, message: `$ref "${ref}" has an empty segment` });
    } else if (root === 'event') {
      if (rest.length !== 1 || !ENVELOPE_FIELDS.includes(rest[0]!))
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `$ref "${ref}": event fields are ${ENVELOPE_FIELDS.map((f) => `event.${f}`).join(', ')}`,
        });
    } else {
      ctx.addIssue({
        code: 'custom',
        path: where,
        message: `$ref "${ref}" must start with data (the event data) or event (its id, key, connector, kind, time)`,
      });
    }
    return;
  }
  for (const [k, v] of Object.entries(value)) checkRefs(v, [...path, k], ctx);
}

const oneTarget =
  (what: string) => (v: { kind?: string | undefined; connector?: string | undefined }, ctx: z.RefinementCtx) => {
    if ((v.kind === undefined) === (v.connector === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: `${what} needs exactly one of kind or connector` });
  };

const whenSchema = z
  .strictObject({
    kind: name('kind').optional(),
    connector: name('connector').optional(),
    event: z.union([name('event'), z.literal('*')]),
  })
  .superRefine(oneTarget('when'));

/** Most tries of one action, and the longest wait or timeout a trigger may set. */
export const MAX_ATTEMPTS = 100;
const MAX_DURATION_MS = 7 * 86_400_000;
const MIN_TIMEOUT_MS = 100;

/** A duration as people write it (`500ms`, `2s`, `1m30s`), checked, kept as written. */
const duration = (what: string, min = 1, hint = 'a duration such as 500ms, 2s, 1m or 1h30m') =>
  z.string({ error: `${what} must be ${hint}` }).superRefine((text, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(text, what);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${what} must be ${hint}` });
      return;
    }
    if (ms < min || ms > MAX_DURATION_MS)
      ctx.addIssue({
        code: 'custom',
        message: `${what} must lie between ${formatDuration(min)} and 7d (got ${text})`,
      });
  });

const backoffSchema = z.union(
  [
    duration('backoff', 1, 'a duration such as 2s (doubling each try), or { delay: 2s, factor: 2, max: 10m }'),
    z.strictObject({
      delay: duration('backoff.delay'),
      factor: z
        .number({ error: 'backoff.factor is a number from 1 (the same wait each time) to 10' })
        .min(1, 'backoff.factor is a number from 1 (the same wait each time) to 10')
        .max(10, 'backoff.factor is a number from 1 (the same wait each time) to 10')
        .optional(),
      max: duration('backoff.max').optional(),
    }),
  ],
  { error: 'backoff is a duration such as 2s (doubling each try), or { delay: 2s, factor: 2, max: 10m }' },
);

/** Account references as the sync capability resolves them: an id, `connector/name`, or a name. */
const SYNC_CONNECTOR = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ACCOUNT_NAME = /^[^\s/][^/]{0,127}$/;
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;
const SYNC_RULE =
  'sync names an account: its id, connector/name (e.g. github/main) or its name if no other connector has one so named';
const accountRef = z.string({ error: SYNC_RULE }).superRefine((ref, ctx) => {
  const slash = ref.indexOf('/');
  const ok =
    !CONTROL.test(ref) &&
    (slash < 0
      ? ACCOUNT_NAME.test(ref)
      : SYNC_CONNECTOR.test(ref.slice(0, slash)) && ACCOUNT_NAME.test(ref.slice(slash + 1)));
  if (!ok) ctx.addIssue({ code: 'custom', message: `${SYNC_RULE} (got ${JSON.stringify(ref.slice(0, 80))})` });
});

const thenSchema = z
  .strictObject({
    kind: name('kind').optional(),
    connector: name('connector').optional(),
    /** Start a sync of this account instead of a task on a connector. */
    sync: z.union([accountRef, z.number().int().min(1).transform(String)], { error: SYNC_RULE }).optional(),
    task: name('task').optional(),
    inputs: z
      .record(z.string(), jsonValue)
      .default({})
      .superRefine((inputs, ctx) => {
        for (const [k, v] of Object.entries(inputs)) checkRefs(v, [k], ctx);
      }),
    attempts: z
      .number({
        error: `attempts is how many times the task is tried in all: a whole number from 1 to ${MAX_ATTEMPTS}`,
      })
      .int(`attempts is how many times the task is tried in all: a whole number from 1 to ${MAX_ATTEMPTS}`)
      .min(1, `attempts is how many times the task is tried in all: a whole number from 1 to ${MAX_ATTEMPTS}`)
      .max(
        MAX_ATTEMPTS,
        `attempts is how many times the task is tried in all: a whole number from 1 to ${MAX_ATTEMPTS}`,
      )
      .optional(),
    backoff: backoffSchema.optional(),
    timeout: duration('timeout', MIN_TIMEOUT_MS).optional(),
    emit: name('emit').optional(),
  })
  .superRefine((then, ctx) => {
    const targets = [then.kind, then.connector, then.sync].filter((v) => v !== undefined).length;
    if (targets !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          'then needs exactly one of kind or connector (a task to run on a connector) or sync (an account to sync)',
      });
    if (then.sync === undefined) {
      if (then.task === undefined)
        ctx.addIssue({ code: 'custom', path: ['task'], message: 'is required: the task the connector runs' });
      return;
    }
    if (then.task !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['task'],
        message: "a sync runs the account's connector: it takes no task (remove task, or use kind/connector)",
      });
    if (Object.keys(then.inputs).length)
      ctx.addIssue({
        code: 'custom',
        path: ['inputs'],
        message: "a sync takes no inputs: the account's options say what it reads (see `switchboard account show`)",
      });
  })
  .superRefine((then, ctx) => {
    if (then.backoff !== undefined && (then.attempts ?? 1) < 2)
      ctx.addIssue({
        code: 'custom',
        path: ['backoff'],
        message: 'backoff is the wait between tries: it needs attempts of 2 or more (e.g. attempts: 3)',
      });
  });

export const triggerSpecSchema = z.strictObject({
  name: name('name'),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().optional(),
  when: whenSchema,
  filters: z.array(filterSchema).max(100).default([]),
  then: thenSchema,
});

export type TriggerSpec = z.infer<typeof triggerSpecSchema>;

/** A trigger as the dispatcher stores and serves it. */
export interface Trigger extends TriggerSpec {
  enabled: boolean;
  createdAt: string;
}

/** How long a chain of triggers may grow (an event emitted from a result emitted from ...): a loop stops here. */
export const MAX_CHAIN_HOPS = 10;

/** An action's tries, in milliseconds. */
export interface ActionPolicy {
  attempts: number;
  delayMs: number;
  factor: number;
  maxDelayMs: number;
  /** null: the dispatcher's default. */
  timeoutMs: number | null;
  emit: string | null;
}

export const DEFAULT_BACKOFF_MS = 1000;
export const DEFAULT_MAX_BACKOFF_MS = 3_600_000;

/** What a (validated) `then` says about tries, with defaults filled in. */
export function actionPolicy(then: TriggerSpec['then']): ActionPolicy {
  const b = then.backoff;
  const delayMs = b === undefined ? DEFAULT_BACKOFF_MS : parseDuration(typeof b === 'string' ? b : b.delay, 'backoff');
  return {
    attempts: then.attempts ?? 1,
    delayMs,
    factor: typeof b === 'object' ? (b.factor ?? 2) : 2,
    maxDelayMs:
      typeof b === 'object' && b.max !== undefined ? parseDuration(b.max, 'backoff.max') : DEFAULT_MAX_BACKOFF_MS,
    timeoutMs: then.timeout === undefined ? null : parseDuration(then.timeout, 'timeout'),
    emit: then.emit ?? null,
  };
}

/** The wait before try `attempt + 1` after try `attempt` failed (up to 10% longer, so retries spread out). */
export function backoffMs(
  p: Pick<ActionPolicy, 'delayMs' | 'factor' | 'maxDelayMs'>,
  attempt: number,
  random = Math.random(),
): number {
  const base = Math.min(p.maxDelayMs, p.delayMs * p.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + 0.1 * random));
}
