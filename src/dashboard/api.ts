/**
 * The JSON API under /api: the same library operations as the CLI (sync's `openSync`, the
 * dispatcher's tables, the hub's registry). Query strings and bodies are validated with zod; every
 * error is `{ error: { code, message, data? } }` with an HTTP status that fits the code (`data`
 * carries details a form can show inline, e.g. a trigger file's problems with their lines).
 */
import type { IncomingMessage } from 'node:http';
import { stringify as toYaml } from 'yaml';
import { z } from 'zod';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import { listServices } from '../hub/service-list.js';
import { originProblem } from '../trust/origin.js';
import type { TriggerSpec } from '../dispatch/trigger/schema.js';
import type { DashboardData } from './data.js';
import { DeadLetterDesk, type DeadLetterSettings } from './dead-letters.js';
import type { HubLink } from './hub-link.js';
import { SyncJobs, type JobFrame } from './jobs.js';

export interface ApiResult {
  status: number;
  body: unknown;
}

export const PAGE_SIZE = 50;

const id = z.coerce.number().int().min(1);
const DataQuery = z
  .object({
    account: z.string().min(1).optional(),
    connector: z.string().min(1).optional(),
    search: z.string().min(1).optional(),
    page: id.optional(),
    order: z.enum(['synced', 'name', 'remote-id', 'id', 'connector']).optional(),
    asc: z.enum(['true', 'false', '1', '0']).optional(),
  })
  .strict();
const RunsQuery = z.object({ account: z.string().min(1).optional(), limit: id.max(1000).optional() }).strict();
const ExecutionsQuery = z
  .object({
    trigger: z.string().min(1).optional(),
    status: z.enum(['dispatched', 'retrying', 'done', 'failed']).optional(),
    event: z.string().min(1).optional(),
    limit: id.max(1000).optional(),
  })
  .strict();
const AccountsQuery = z.object({ connector: z.string().min(1).optional() }).strict();
const ForceQuery = z.object({ force: z.enum(['true', 'false', '1', '0']).optional() }).strict();
const NoteBody = z.object({ notes: z.string().max(100_000) }).strict();
const Empty = z.object({}).strict();

const jsonObject = z.record(z.string(), z.unknown());
const InstallBody = z
  .object({
    /** Raw manifest JSON, an http(s) URL or a path (what `switchboard connector install` takes), or the manifest as an object. */
    manifest: z.union([z.string().trim().min(1, 'must not be empty'), jsonObject]).optional(),
    /** A bundled example connector instead (`connector install --example`). */
    example: z.string().min(1).optional(),
    name: z.string().min(1).max(64).optional(),
    progress: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((b) => (b.manifest === undefined) !== (b.example === undefined), {
    message: 'give either "manifest" (JSON, URL or path) or "example"',
  });
/** Options as JSON text (checked here, errors say where) or as a JSON object. */
const options = z.union([z.string().max(1_000_000), jsonObject]);
const AccountBody = z
  .object({
    connector: z.string().min(1),
    name: z.string().min(1).max(200),
    options: options.optional(),
    /** Ask the connector (its Check) whether the options are usable before saving; default true. */
    check: z.boolean().optional(),
  })
  .strict();
const AccountChange = z
  .object({ name: z.string().min(1).max(200).optional(), options: options.optional(), check: z.boolean().optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.options !== undefined, {
    message: 'nothing to change: give "options" and/or "name"',
  });
const EditBody = z
  .object({
    manifest: z.union([
      z
        .string()
        .trim()
        .min(1, 'must not be empty')
        .max(256 * 1024),
      jsonObject,
    ]),
    progress: z.string().min(1).max(64).optional(),
  })
  .strict();
const ScheduleBody = z
  .object({
    every: z.string().min(1).max(40).optional(),
    cron: z.string().min(1).max(200).optional(),
    off: z.literal(true).optional(),
  })
  .strict()
  .refine((b) => [b.every, b.cron, b.off].filter((v) => v !== undefined).length === 1, {
    message: 'give one of "every" (e.g. "15m"), "cron" (e.g. "0 * * * *") or "off": true',
  });
const SyncBody = z
  .object({
    /** Ids, names or connector/name; empty or absent: every account. */
    accounts: z.array(z.string().min(1)).max(1000).optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
  })
  .strict();
const TriggerText = z
  .object({
    /** A trigger file's text: YAML or JSON, one trigger, a list, or { triggers: [...] }. */
    text: z.string().min(1, 'must not be empty').max(1_000_000),
    /** Replace triggers with the same names (like `trigger add --replace`). */
    replace: z.boolean().optional(),
    /** Validate only (like `trigger add --check`). */
    check: z.boolean().optional(),
  })
  .strict();
const TriggerEdit = z.object({ text: z.string().min(1, 'must not be empty').max(1_000_000) }).strict();
const EnabledBody = z.object({ enabled: z.boolean() }).strict();
const DeadLettersQuery = z.object({ limit: id.max(1000).optional() }).strict();
/** A letter's id: `x-dead-letter-id` (a time-ordered id) or `#N` for one set aside before letters had ids. */
const letterId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x21-\x7e]+$/, 'a dead letter id is printable ASCII without spaces (see GET /api/dead-letters)');
const DeadReplayBody = z
  .object({
    /** Letters to send back to the dispatcher (ids from GET /api/dead-letters). */
    ids: z.array(letterId).min(1, 'name at least one letter, or give "all": true').max(1000).optional(),
    /** Every letter (at most 1,000 at once, like `trigger replay --dead --all`). */
    all: z.literal(true).optional(),
  })
  .strict()
  .refine((b) => (b.ids === undefined) !== (b.all === undefined), {
    message: 'give either "ids": [...] (from GET /api/dead-letters) or "all": true',
  });
/** `progress`: an id of the caller's choosing; the output is pushed as `connector-output` frames carrying it. */
const UpdateBody = z.object({ progress: z.string().min(1).max(64).optional() }).strict();

/** A frame of install/update output for the caller that asked with `progress: id`. */
export interface OutputFrame {
  type: 'connector-output';
  progress: string;
  text: string;
}
export type LiveFrame = JobFrame | OutputFrame;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  throw new InvalidArgumentError(`${what}: ${problems}`, {
    data: { fields: r.error.issues.map((i) => i.path.join('.')) },
  });
}

const MAX_BODY = 1 << 20;

/** A request body over MAX_BODY: 413, and the rest of it is not read. */
export class BodyTooLargeError extends SwitchboardError {
  constructor(limit: number) {
    super(
      'BODY_TOO_LARGE',
      `the request body is over ${limit} bytes; send less (this API takes at most ${limit} bytes)`,
    );
  }
}

/** The body as JSON; an empty body is `{}` (for endpoints whose fields are all optional). */
async function readJson(req: IncomingMessage, emptyIs?: unknown): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyTooLargeError(MAX_BODY);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (emptyIs !== undefined && text.trim() === '') return emptyIs;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError('the request body is not JSON (send Content-Type: application/json with an object)');
  }
}

/** Options text as the connector gets it; a syntax error names its line and column. */
function optionsText(value: string | Record<string, unknown> | undefined): string {
  if (value === undefined) return '{}';
  if (typeof value !== 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(JSON.parse(value));
  } catch (err) {
    const message = errorMessage(err);
    const at = /position (\d+)/.exec(message);
    let where = '';
    let line: number | undefined;
    if (at) {
      const before = value.slice(0, Number(at[1]));
      line = before.split('\n').length;
      where = ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
    }
    throw new InvalidArgumentError(`options are not valid JSON${where}: ${message}`, {
      data: { field: 'options', ...(line ? { line } : {}) },
    });
  }
}

const STATUS: Partial<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_CONFIG: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  BODY_TOO_LARGE: 413,
  PERMISSION_DENIED: 403,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

export function errorResult(err: unknown): ApiResult {
  if (err instanceof SwitchboardError) {
    return {
      status: STATUS[err.code] ?? 500,
      body: { error: { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) } },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { code: 'INTERNAL', message } } };
}

/**
 * Why a browser request must be refused, if it must: another site's page (its Origin differs from
 * the Host it talks to). Without this any web page could drive the dashboard of a signed-in
 * browser, and installing a connector runs commands. Every data request also needs a token.
 */
export function crossSiteProblem(req: IncomingMessage): string | undefined {
  return originProblem(req.headers.origin, req.headers.host);
}

type Params = Record<string, string>;
interface Ctx {
  params: Params;
  query: Record<string, string>;
  req: IncomingMessage;
}
type Handler = (ctx: Ctx) => Promise<ApiResult>;
interface Route {
  pattern: string;
  regex: RegExp;
  keys: string[];
  methods: Partial<Record<string, Handler>>;
}

function route(pattern: string, methods: Partial<Record<string, Handler>>): Route {
  const keys: string[] = [];
  const regex = new RegExp(
    `^${pattern.replace(/:([a-z]+)/g, (_, k: string) => {
      keys.push(k);
      return '([^/]+)';
    })}$`,
  );
  return { pattern, regex, keys, methods };
}

const ok = (body: unknown, status = 200): ApiResult => ({ status, body });
const truthy = (v: string | undefined) => v === 'true' || v === '1';

/** A trigger as the text the edit form starts from (YAML, `enabled` included). */
function triggerText(t: { name: string; enabled: boolean; spec: TriggerSpec }): string {
  const { name, description, when, filters, then } = t.spec;
  return toYaml(
    {
      name,
      ...(description ? { description } : {}),
      enabled: t.enabled,
      when,
      ...(filters?.length ? { filters } : {}),
      then,
    },
    { lineWidth: 0 },
  );
}

export class Api {
  readonly jobs: SyncJobs;
  private readonly routes: Route[];
  private readonly listeners = new Set<(frame: LiveFrame) => void>();

  private readonly deadLetters: DeadLetterDesk;

  constructor(
    private readonly link: HubLink,
    private readonly data: DashboardData,
    /** The broker the dead letters are on (`start --amqp`); undefined: the dead-letter routes say how to give one. */
    broker?: DeadLetterSettings,
  ) {
    this.deadLetters = new DeadLetterDesk(broker);
    this.jobs = new SyncJobs(data.sync);
    this.jobs.onFrame((frame) => this.emit(frame));
    const sync = data.sync;
    const dispatch = data.dispatch;
    const hub = link.hub;
    this.routes = [
      route('services', {
        GET: async ({ query }) => {
          parse(Empty, query, 'query');
          return ok({
            server: hub.serverName,
            services: listServices(hub.serverName, hub.services, hub.remote()),
            counts: Object.fromEntries(this.link.counts),
            at: Date.now(),
          });
        },
      }),
      route('cluster', {
        GET: async ({ query }) => {
          parse(Empty, query, 'query');
          return ok(this.link.clusterView());
        },
      }),

      // Connectors: install / list / update / remove (switchboard connector ...).
      route('connectors', {
        GET: async ({ query }) => {
          parse(Empty, query, 'query');
          return ok({ connectors: await sync.listConnectors() });
        },
        POST: async ({ query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(InstallBody, await readJson(req), 'install');
          let input: string;
          if (body.example !== undefined) {
            const { exampleManifest } = await import('../sync/connectors/examples.js');
            input = JSON.stringify(exampleManifest(body.example));
          } else input = typeof body.manifest === 'string' ? body.manifest : JSON.stringify(body.manifest);
          const output = this.output(body.progress);
          const connector = await sync.installConnector(input, {
            onOutput: output.push,
            ...(body.name ? { name: body.name } : {}),
          });
          return ok({ connector, output: output.text() }, 201);
        },
      }),
      route('connectors/:name', {
        GET: async ({ params, query }) => {
          parse(Empty, query, 'query');
          const connector = await sync.getConnector(params.name!);
          const { manifestJson } = await import('../sync/manifest.js');
          const { toManifest } = await import('../sync/connectors-db.js');
          return ok({ connector, manifest: manifestJson(toManifest(connector)) });
        },
        /** Edit: a new manifest (JSON or YAML text, or an object) for the same name. */
        PUT: async ({ params, query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(EditBody, await readJson(req), 'edit');
          const output = this.output(body.progress);
          const text = typeof body.manifest === 'string' ? body.manifest : JSON.stringify(body.manifest);
          const connector = await sync.editConnector(params.name!, text, { onOutput: output.push });
          return ok({ connector, output: output.text() });
        },
        DELETE: async ({ params, query }) => {
          const q = parse(ForceQuery, query, 'query');
          const output = outputBuffer();
          const r = await sync.removeConnector(params.name!, {
            onOutput: output.push,
            ...(truthy(q.force) ? { force: true } : {}),
          });
          return ok({ removed: params.name, accountsRemoved: r.accountsRemoved, output: output.text() });
        },
      }),
      route('connectors/:name/update', {
        POST: async ({ params, query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(UpdateBody, await readJson(req, {}), 'update');
          const output = this.output(body.progress);
          const connector = await sync.updateConnector(params.name!, { onOutput: output.push });
          return ok({ connector, output: output.text() });
        },
      }),
      route('examples', {
        GET: async ({ query }) => {
          parse(Empty, query, 'query');
          const { EXAMPLE_CONNECTORS } = await import('../sync/connectors/examples.js');
          return ok({
            examples: Object.entries(EXAMPLE_CONNECTORS).map(([name, description]) => ({ name, description })),
          });
        },
      }),

      // Accounts: create / list / edit / remove (switchboard account ...).
      route('accounts', {
        GET: async ({ query }) => {
          const p = parse(AccountsQuery, query, 'query');
          const accounts = await sync.listAccounts(p.connector ? { connector: p.connector } : {});
          // Each with its last run, like `account list --json`.
          return ok({
            accounts: await Promise.all(
              accounts.map(async (a) => ({
                ...a,
                lastRun: (await sync.listRuns({ account: String(a.id), limit: 1 }))[0] ?? null,
              })),
            ),
          });
        },
        POST: async ({ query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(AccountBody, await readJson(req), 'account');
          const text = optionsText(body.options);
          const taken = (await sync.listAccounts({ connector: (await sync.getConnector(body.connector)).name })).find(
            (a) => a.name === body.name,
          );
          // Before the check, which starts the connector: a taken name is known at once.
          if (taken)
            throw new SwitchboardError(
              'CONFLICT',
              `connector "${body.connector}" has an account named "${body.name}" already (id ${taken.id})`,
            );
          const check = await this.checkOptions(body.connector, text, body.check !== false);
          const account = await sync.addAccount({ connector: body.connector, name: body.name, options: text });
          return ok({ account, check }, 201);
        },
      }),
      route('accounts/:ref', {
        GET: async ({ params, query }) => {
          parse(Empty, query, 'query');
          const account = await sync.resolveAccount(params.ref!);
          return ok({ account, runs: await sync.listRuns({ account: String(account.id), limit: 20 }) });
        },
        PUT: async ({ params, query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(AccountChange, await readJson(req), 'account change');
          const current = await sync.resolveAccount(params.ref!);
          const text = body.options === undefined ? undefined : optionsText(body.options);
          const check =
            text === undefined ? null : await this.checkOptions(current.connector, text, body.check !== false);
          const account = await sync.updateAccount(String(current.id), {
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(text !== undefined ? { options: text } : {}),
          });
          return ok({ account, check });
        },
        DELETE: async ({ params, query }) => {
          parse(Empty, query, 'query');
          return ok({ account: await sync.removeAccount(params.ref!) });
        },
      }),

      route('accounts/:ref/schedule', {
        /** `{ every: "15m" }`, `{ cron: "0 * * * *" }` or `{ off: true }` (switchboard account schedule). */
        PUT: async ({ params, query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(ScheduleBody, await readJson(req), 'schedule');
          const schedule = body.off
            ? null
            : { ...(body.every ? { every: body.every } : {}), ...(body.cron ? { cron: body.cron } : {}) };
          return ok({ account: await sync.setSchedule(params.ref!, schedule) });
        },
      }),
      route('accounts/:ref/reset-state', {
        POST: async ({ params, query }) => {
          parse(Empty, query, 'query');
          return ok({ account: await sync.resetState(params.ref!) });
        },
      }),

      // Sync: run accounts in the background (progress over /api/live), jobs, history.
      route('sync', {
        GET: async ({ query }) => {
          parse(Empty, query, 'query');
          return ok({ jobs: this.jobs.list() });
        },
        POST: async ({ query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(SyncBody, await readJson(req), 'sync');
          return ok({ job: await this.jobs.start(body.accounts ?? [], body.concurrency ?? 4) }, 202);
        },
      }),
      route('sync/:job', {
        GET: async ({ params, query }) => {
          parse(Empty, query, 'query');
          return ok({ job: this.jobs.get(parse(id, params.job, 'sync job id')) });
        },
        DELETE: async ({ params, query }) => {
          parse(Empty, query, 'query');
          return ok({ job: this.jobs.cancel(parse(id, params.job, 'sync job id')) });
        },
      }),
      route('runs', {
        GET: async ({ query }) => {
          const p = parse(RunsQuery, query, 'query');
          return ok({
            runs: await sync.listRuns({ ...(p.account ? { account: p.account } : {}), limit: p.limit ?? 100 }),
          });
        },
      }),

      route('data', {
        GET: async ({ query }) => {
          const p = parse(DataQuery, query, 'query');
          return ok(
            await sync.listData({
              ...(p.account ? { accounts: [p.account] } : {}),
              ...(p.connector ? { connector: p.connector } : {}),
              ...(p.search ? { search: p.search } : {}),
              page: p.page ?? 1,
              pageSize: PAGE_SIZE,
              ...(p.order ? { order: p.order } : {}),
              ...(truthy(p.asc) ? { ascending: true } : {}),
            }),
          );
        },
      }),
      route('data/:id/note', {
        PUT: async ({ params, req }) => {
          const objectId = parse(id, params.id, 'data object id');
          const body = parse(NoteBody, await readJson(req), 'note');
          return ok({ object: await sync.setNote(objectId, body.notes) });
        },
      }),

      // Triggers: create / edit from YAML or JSON text, enable / disable, remove (switchboard trigger ...).
      route('triggers', {
        GET: async ({ query }) => {
          parse(Empty, query, 'query');
          return ok({ triggers: await dispatch.listTriggers() });
        },
        POST: async ({ query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(TriggerText, await readJson(req), 'triggers');
          const { parseTriggers } = await import('../dispatch/trigger/parse.js');
          const specs = parseTriggers(body.text, 'text');
          if (body.check) return ok({ valid: specs.map((s) => s.name) });
          return ok(await dispatch.addTriggers(specs, body.replace ?? false), 201);
        },
      }),
      route('triggers/:name', {
        GET: async ({ params, query }) => {
          parse(Empty, query, 'query');
          const trigger = await this.trigger(params.name!);
          return ok({ trigger, text: triggerText(trigger) });
        },
        PUT: async ({ params, query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(TriggerEdit, await readJson(req), 'trigger');
          const current = await this.trigger(params.name!);
          const { parseTriggers, TriggerFileError } = await import('../dispatch/trigger/parse.js');
          const specs = parseTriggers(body.text, 'text');
          if (specs.length !== 1)
            throw new TriggerFileError('text', [
              { line: 1, field: '', message: `editing "${current.name}" takes one trigger, not ${specs.length}` },
            ]);
          // Without an `enabled` line the trigger keeps its current state.
          const spec = { ...specs[0]!, enabled: specs[0]!.enabled ?? current.enabled };
          if (spec.name === current.name) await dispatch.addTriggers([spec], true);
          else {
            await dispatch.addTriggers([spec], false); // a rename: a CONFLICT here changes nothing
            await dispatch.removeTrigger(current.name);
          }
          const trigger = await this.trigger(spec.name);
          return ok({ trigger, text: triggerText(trigger) });
        },
        DELETE: async ({ params, query }) => {
          parse(Empty, query, 'query');
          await dispatch.removeTrigger(params.name!);
          return ok({ removed: params.name });
        },
      }),
      route('triggers/:name/enabled', {
        PUT: async ({ params, query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(EnabledBody, await readJson(req), 'enabled');
          await dispatch.setTriggerEnabled(params.name!, body.enabled);
          return ok({ trigger: await this.trigger(params.name!) });
        },
      }),
      route('executions', {
        GET: async ({ query }) => {
          const p = parse(ExecutionsQuery, query, 'query');
          return ok({
            executions: await dispatch.listExecutions({
              ...(p.trigger ? { trigger: p.trigger } : {}),
              ...(p.status ? { status: p.status } : {}),
              ...(p.event ? { eventId: p.event } : {}),
              limit: p.limit ?? 100,
            }),
          });
        },
      }),
      // Replay a failed execution (switchboard trigger replay ID): its trigger's tries again, due now;
      // a running dispatcher sends it within a second. 409 with the reason when it is not failed.
      route('executions/:id/replay', {
        POST: async ({ params, query }) => {
          parse(Empty, query, 'query');
          const { replayOne } = await import('../dispatch/dispatcher/replay.js');
          return ok({ execution: await replayOne(dispatch, params.id!) });
        },
      }),
      // Dead letters: what the dispatcher set aside on RabbitMQ, with why (switchboard trigger dead).
      route('dead-letters', {
        GET: async ({ query }) => {
          const p = parse(DeadLettersQuery, query, 'query');
          const view = await this.deadLetters.list(p.limit ?? 100);
          if (!view.letters.length) return ok(view);
          // The kind of each letter's connector, from the registry when the message does not say it.
          const kinds = new Map((await dispatch.listConnectors()).map((c) => [c.id, c.kind]));
          return ok({
            ...view,
            letters: view.letters.map((l) => ({
              ...l,
              kind: l.kind ?? (l.connectorId === null ? null : (kinds.get(l.connectorId) ?? null)),
            })),
          });
        },
      }),
      // Send letters back to the dispatcher after the fix (switchboard trigger replay --dead ID...|--all).
      // A letter that cannot go (cut for its size, a request that waited for a reply) stays, with why.
      route('dead-letters/replay', {
        POST: async ({ query, req }) => {
          parse(Empty, query, 'query');
          const body = parse(DeadReplayBody, await readJson(req), 'dead-letter replay');
          const out = await this.deadLetters.replay(body.all ? { all: true } : { ids: body.ids! }, 1000);
          if (!out.replayed.length && out.refused.length)
            throw new SwitchboardError(
              'CONFLICT',
              `nothing was replayed: ${out.refused.map((r) => `dead letter ${r.letter.id} is kept: ${r.reason}`).join('; ')}${out.missing.length ? `; no dead letter ${out.missing.join(', ')}` : ''}`,
              { data: { ...out } },
            );
          if (!out.replayed.length && out.missing.length)
            throw new SwitchboardError(
              'NOT_FOUND',
              `no dead letter ${out.missing.join(', ')} (replayed already, or never set aside: see GET /api/dead-letters)`,
              { data: { ...out } },
            );
          return ok(out);
        },
      }),
    ];
  }

  /** Live frames the API produces (sync progress, install output); the server pushes them over /api/live. */
  onFrame(listener: (frame: LiveFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(frame: LiveFrame): void {
    for (const l of this.listeners) {
      try {
        l(frame);
      } catch {
        /* a socket going away is not the caller's problem */
      }
    }
  }

  /** Collects install/update output for the reply, and pushes it live when the caller gave a progress id. */
  private output(progress: string | undefined): { push: (text: string) => void; text: () => string } {
    const buffer = outputBuffer();
    if (progress === undefined) return buffer;
    return {
      push: (text) => {
        buffer.push(text);
        this.emit({ type: 'connector-output', progress, text });
      },
      text: buffer.text,
    };
  }

  /** Stops running syncs and waits for them. */
  close(): Promise<void> {
    return this.jobs.close();
  }

  /** Undefined when the path is not under /api/. */
  async handle(
    method: string,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
  ): Promise<ApiResult | undefined> {
    if (!path.startsWith('/api/')) return undefined;
    const rest = path.slice('/api/'.length);
    const verb = method === 'HEAD' ? 'GET' : method;
    for (const r of this.routes) {
      const m = r.regex.exec(rest);
      if (!m) continue;
      const handler = r.methods[verb];
      if (!handler) {
        const allowed = Object.keys(r.methods).join(', ');
        return {
          status: 405,
          body: {
            error: {
              code: 'INVALID_ARGUMENT',
              message: `${method} ${path}: ${allowed === 'GET' ? 'only GET is served here' : `use ${allowed}`}`,
            },
          },
        };
      }
      const params: Params = {};
      r.keys.forEach((k, i) => {
        try {
          params[k] = decodeURIComponent(m[i + 1]!);
        } catch {
          throw new InvalidArgumentError(`${path}: a badly escaped path segment`);
        }
      });
      return handler({ params, query: Object.fromEntries(query), req });
    }
    const top = [...new Set(this.routes.map((r) => r.pattern.split('/')[0]))];
    return {
      status: 404,
      body: {
        error: { code: 'NOT_FOUND', message: `no API at ${path}; try ${top.map((k) => `/api/${k}`).join(', ')}` },
      },
    };
  }

  private async trigger(name: string) {
    const t = (await this.data.dispatch.listTriggers()).find((x) => x.name === name);
    if (!t) throw new SwitchboardError('NOT_FOUND', `no trigger named "${name}"`);
    return t;
  }

  /** Schema, then the connector's check (unless `check` is false): the same as the CLI's. */
  private async checkOptions(
    connectorName: string,
    options: string,
    check: boolean,
  ): Promise<{ supported: boolean; ok: boolean; message: string } | null> {
    return (await this.data.sync.checkOptions(connectorName, options, { check })).check;
  }
}

/** Install/update output kept for the reply (the tail, like the CLI's stderr would show). */
function outputBuffer(max = 16_384): { push: (text: string) => void; text: () => string } {
  let text = '';
  return {
    push: (chunk: string) => {
      text += chunk;
      if (text.length > 2 * max) text = text.slice(-max);
    },
    text: () => (text.length > max ? `…${text.slice(-max)}` : text),
  };
}
