/**
 * The dispatcher's tables on the store (namespace `dispatch`, tables `dispatch_*`), SQLite or
 * PostgreSQL. JSON is kept as TEXT and booleans as 0/1 so one set of statements serves both.
 */
import { SwitchboardError } from '../../core/errors.js';
import type { JsonValue } from '../../core/message.js';
import type { ConnectorInfo } from '../protocol/wire.js';
import type { TriggerSpec } from '../trigger/schema.js';
import { hashToken, newToken } from './tokens.js';
import type {
  AttemptRecord,
  ConnectorRecord,
  ConnectorStatus,
  EmitSource,
  ExecutionRecord,
  FailedAttempt,
  NewEvent,
  NewExecution,
  ResultUpdate,
  TriggerRecord,
} from './types.js';
import { backoffMs } from '../trigger/schema.js';
import { parseTaskId } from '../protocol/ids.js';
import { type Sql, sqlOf } from './sql.js';

export const MIGRATIONS = [
  {
    name: 'dispatch tables',
    up: `
CREATE TABLE dispatch_connectors (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, meta TEXT NOT NULL, events TEXT NOT NULL, tasks TEXT NOT NULL,
  status TEXT NOT NULL, registered_at TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE dispatch_triggers (
  name TEXT PRIMARY KEY, enabled INTEGER NOT NULL, spec TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE dispatch_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE dispatch_tokens (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE dispatch_events (
  id TEXT PRIMARY KEY, connector_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
  time TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE dispatch_executions (
  id TEXT PRIMARY KEY, event_id TEXT NOT NULL, trigger_name TEXT NOT NULL, target TEXT NOT NULL, task TEXT NOT NULL,
  inputs TEXT NOT NULL, outputs TEXT, error TEXT, status TEXT NOT NULL, dispatched_at TEXT NOT NULL,
  started_at TEXT, finished_at TEXT, duration_ms BIGINT);
CREATE INDEX dispatch_executions_event ON dispatch_executions (event_id);
CREATE INDEX dispatch_executions_trigger ON dispatch_executions (trigger_name, dispatched_at);
CREATE INDEX dispatch_executions_time ON dispatch_executions (dispatched_at);
INSERT INTO dispatch_meta (key, value) VALUES ('trigger_version', 0);
`,
  },
  {
    name: 'dispatch history retention',
    up: `CREATE INDEX dispatch_events_received ON dispatch_events (received_at);`,
  },
  {
    // Several dispatchers share one store: the database, not a process's memory, keeps an event's
    // executions to one per trigger, and the log names the dispatcher that recorded each.
    name: 'dispatch many dispatchers',
    up: `
DROP INDEX dispatch_executions_event;
CREATE UNIQUE INDEX dispatch_executions_once ON dispatch_executions (event_id, trigger_name);
ALTER TABLE dispatch_executions ADD COLUMN dispatcher TEXT;
`,
  },
  {
    // Tries (attempt of max_attempts, the back-off as JSON, each try's time limit), one time column
    // for what is due next (the current try's deadline while dispatched, the next try while
    // retrying), the earlier tries' errors, and chains (an event emitted from a result, hops deep).
    name: 'dispatch retries and chains',
    up: `
ALTER TABLE dispatch_executions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE dispatch_executions ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE dispatch_executions ADD COLUMN backoff TEXT;
ALTER TABLE dispatch_executions ADD COLUMN timeout_ms BIGINT;
ALTER TABLE dispatch_executions ADD COLUMN due_ms BIGINT;
ALTER TABLE dispatch_executions ADD COLUMN attempts_log TEXT;
ALTER TABLE dispatch_executions ADD COLUMN emit TEXT;
ALTER TABLE dispatch_events ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dispatch_events ADD COLUMN caused_by TEXT;
CREATE INDEX dispatch_executions_due ON dispatch_executions (status, due_ms);
`,
  },
  {
    // A sync action's execution names its run (sync_runs.id) once the run is recorded.
    name: 'dispatch sync actions',
    up: `ALTER TABLE dispatch_executions ADD COLUMN run_id BIGINT;`,
  },
];

/** Earlier tries an execution's log keeps (the latest), and how much of each error. */
const MAX_ATTEMPTS_KEPT = 20;
const MAX_ATTEMPT_ERROR_CHARS = 1024;

const CHUNK = 400;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const parse = <T>(text: unknown, fallback: T): T => (typeof text === 'string' ? (JSON.parse(text) as T) : fallback);

type Row = Record<string, unknown>;

/** Longest error text kept for an execution (a connector's stack trace says enough in that much). */
export const MAX_ERROR_CHARS = 16 * 1024;

/** An error text as stored: NUL (which PostgreSQL refuses in text) replaced, cut to MAX_ERROR_CHARS. */
export function errorText(text: string): string {
  const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text;
  return clean.length > MAX_ERROR_CHARS
    ? `${clean.slice(0, MAX_ERROR_CHARS)}... (cut at ${MAX_ERROR_CHARS} characters)`
    : clean;
}

function connectorFrom(r: Row): ConnectorRecord {
  return {
    id: String(r.id),
    kind: String(r.kind),
    meta: parse(r.meta, {}),
    events: parse(r.events, []),
    tasks: parse(r.tasks, []),
    status: String(r.status) as ConnectorStatus,
    registeredAt: String(r.registered_at),
    lastSeen: String(r.last_seen),
  };
}

function executionFrom(r: Row): ExecutionRecord {
  return {
    id: String(r.id),
    eventId: String(r.event_id),
    eventKey: String(r.key ?? ''),
    eventConnector: String(r.connector_id ?? ''),
    eventData: parse<JsonValue>(r.data, null),
    trigger: String(r.trigger_name),
    target: String(r.target),
    task: String(r.task),
    inputs: parse(r.inputs, {}),
    outputs: parse(r.outputs, null),
    error: (r.error as string | null) ?? null,
    status: String(r.status) as ExecutionRecord['status'],
    eventTime: String(r.time ?? ''),
    dispatchedAt: String(r.dispatched_at),
    startedAt: (r.started_at as string | null) ?? null,
    finishedAt: (r.finished_at as string | null) ?? null,
    durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
    dispatcher: (r.dispatcher as string | null) ?? null,
    attempt: Number(r.attempt ?? 1),
    maxAttempts: Number(r.max_attempts ?? 1),
    attempts: parse<AttemptRecord[]>(r.attempts_log, []),
    dueAt:
      r.due_ms === null || r.due_ms === undefined || (r.status !== 'dispatched' && r.status !== 'retrying')
        ? null
        : new Date(Number(r.due_ms)).toISOString(),
    emit: (r.emit as string | null) ?? null,
    eventHops: Number(r.hops ?? 0),
    eventCausedBy: (r.caused_by as string | null) ?? null,
    runId: r.run_id === null || r.run_id === undefined ? null : Number(r.run_id),
  };
}

/** The columns a try is sent from. */
const SEND_COLUMNS = 'id, event_id, trigger_name, target, task, inputs, dispatched_at, attempt, run_id';

function sendableFrom(r: Row): Sendable {
  return {
    id: String(r.id),
    eventId: String(r.event_id),
    trigger: String(r.trigger_name),
    target: String(r.target),
    task: String(r.task),
    inputs: parse(r.inputs, {}),
    dispatchedAt: String(r.dispatched_at),
    attempt: Number(r.attempt ?? 1),
    runId: r.run_id === null || r.run_id === undefined ? null : Number(r.run_id),
  };
}

/** A try to send (or a sync to start, when `runId` is null; to follow, when not). */
export type Sendable = NewExecution & { attempt: number; runId: number | null };

export class DispatchDb {
  private readonly sql: Sql;

  constructor(store: Parameters<typeof sqlOf>[0]) {
    this.sql = sqlOf(store);
  }

  async migrate(): Promise<void> {
    await this.sql.migrate('dispatch', MIGRATIONS);
  }

  /** True when the store answers a trivial query (tells "the store is down" from "this input is bad"). */
  async ping(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.sql.query('SELECT 1 AS one').then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  // --- triggers ---
  async triggerVersion(): Promise<number> {
    const rows = await this.sql.query(`SELECT value FROM dispatch_meta WHERE key = 'trigger_version'`);
    return Number(rows[0]?.value ?? 0);
  }

  private async bump(tx: Sql): Promise<void> {
    await tx.exec(`UPDATE dispatch_meta SET value = value + 1 WHERE key = 'trigger_version'`);
  }

  async listTriggers(): Promise<TriggerRecord[]> {
    const rows = await this.sql.query(
      'SELECT name, enabled, spec, created_at, updated_at FROM dispatch_triggers ORDER BY name',
    );
    return rows.map((r) => ({
      name: String(r.name),
      enabled: Number(r.enabled) === 1,
      spec: parse<TriggerSpec>(r.spec, {} as TriggerSpec),
      createdAt: String(r.created_at),
      updatedAt: String(r.updated_at),
    }));
  }

  /** Adds triggers; with `replace` an existing name is updated, otherwise it is a conflict. */
  async addTriggers(specs: TriggerSpec[], replace = false): Promise<{ added: string[]; replaced: string[] }> {
    const now = new Date().toISOString();
    return this.sql.transaction(async (tx) => {
      const added: string[] = [];
      const replaced: string[] = [];
      for (const spec of specs) {
        const existing = await tx.query('SELECT name FROM dispatch_triggers WHERE name = ?', [spec.name]);
        const enabled = spec.enabled === false ? 0 : 1;
        const body = JSON.stringify({ ...spec, enabled: undefined });
        if (existing.length) {
          if (!replace)
            throw new SwitchboardError(
              'CONFLICT',
              `a trigger named "${spec.name}" exists already (remove it first, or add with --replace)`,
            );
          await tx.exec('UPDATE dispatch_triggers SET enabled = ?, spec = ?, updated_at = ? WHERE name = ?', [
            enabled,
            body,
            now,
            spec.name,
          ]);
          replaced.push(spec.name);
        } else {
          await tx.exec(
            'INSERT INTO dispatch_triggers (name, enabled, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
            [spec.name, enabled, body, now, now],
          );
          added.push(spec.name);
        }
      }
      await this.bump(tx);
      return { added, replaced };
    });
  }

  async removeTrigger(name: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const n = await tx.exec('DELETE FROM dispatch_triggers WHERE name = ?', [name]);
      if (n === 0)
        throw new SwitchboardError('NOT_FOUND', `no trigger named "${name}" (see \`switchboard trigger list\`)`);
      await this.bump(tx);
    });
  }

  async setTriggerEnabled(name: string, enabled: boolean): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const n = await tx.exec('UPDATE dispatch_triggers SET enabled = ?, updated_at = ? WHERE name = ?', [
        enabled ? 1 : 0,
        new Date().toISOString(),
        name,
      ]);
      if (n === 0)
        throw new SwitchboardError('NOT_FOUND', `no trigger named "${name}" (see \`switchboard trigger list\`)`);
      await this.bump(tx);
    });
  }

  // --- tokens ---
  async issueToken(kind: string, token = newToken()): Promise<string> {
    await this.sql.exec(
      'INSERT INTO dispatch_tokens (hash, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING',
      [hashToken(token), kind, new Date().toISOString()],
    );
    return token;
  }

  async tokenKind(hash: string): Promise<string | undefined> {
    const rows = await this.sql.query('SELECT kind FROM dispatch_tokens WHERE hash = ?', [hash]);
    return rows[0] ? String(rows[0].kind) : undefined;
  }

  // --- connectors ---
  async upsertConnector(c: ConnectorInfo, now: string): Promise<ConnectorRecord> {
    await this.sql.exec(
      `INSERT INTO dispatch_connectors (id, kind, meta, events, tasks, status, registered_at, last_seen) VALUES (?, ?, ?, ?, ?, 'online', ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, meta = excluded.meta, events = excluded.events, tasks = excluded.tasks,
         status = 'online', registered_at = excluded.registered_at, last_seen = excluded.last_seen`,
      [c.id, c.kind, JSON.stringify(c.meta), JSON.stringify(c.events), JSON.stringify(c.tasks), now, now],
    );
    return {
      id: c.id,
      kind: c.kind,
      meta: c.meta,
      events: c.events,
      tasks: c.tasks,
      status: 'online',
      registeredAt: now,
      lastSeen: now,
    };
  }

  async setConnectorStatus(id: string, status: ConnectorStatus, now: string): Promise<void> {
    await this.sql.exec('UPDATE dispatch_connectors SET status = ?, last_seen = ? WHERE id = ?', [status, now, id]);
  }

  async touchConnectors(ids: string[], now: string): Promise<void> {
    for (const part of chunks(ids)) {
      await this.sql.exec(
        `UPDATE dispatch_connectors SET last_seen = ? WHERE id IN (${part.map(() => '?').join(', ')})`,
        [now, ...part],
      );
    }
  }

  async listConnectors(): Promise<ConnectorRecord[]> {
    return (await this.sql.query('SELECT * FROM dispatch_connectors ORDER BY id')).map(connectorFrom);
  }

  async getConnector(id: string): Promise<ConnectorRecord | undefined> {
    const rows = await this.sql.query('SELECT * FROM dispatch_connectors WHERE id = ?', [id]);
    return rows[0] ? connectorFrom(rows[0]) : undefined;
  }

  // --- events and executions ---
  /**
   * In one transaction: records the events not seen before (by id) and the executions `plan`
   * derives from those fresh events. Returns both.
   */
  async recordEvents(
    events: NewEvent[],
    plan: (fresh: NewEvent[]) => NewExecution[],
    dispatcher: string | null = null,
  ): Promise<{ fresh: NewEvent[]; executions: NewExecution[] }> {
    const receivedAt = new Date().toISOString();
    return this.sql.transaction(async (tx) => {
      const freshIds = new Set<string>();
      for (const part of chunks(events)) {
        const rows = await tx.query(
          `INSERT INTO dispatch_events (id, connector_id, kind, key, data, time, received_at, hops, caused_by) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          part.flatMap((e) => [
            e.id,
            e.connectorId,
            e.kind,
            e.key,
            e.dataText ?? JSON.stringify(e.data),
            e.time,
            receivedAt,
            e.hops ?? 0,
            e.causedBy ?? null,
          ]),
        );
        for (const r of rows) freshIds.add(String(r.id));
      }
      const fresh = events.filter((e) => freshIds.delete(e.id)); // delete: a repeated id within one batch counts once
      const executions = plan(fresh);
      // No ON CONFLICT: the unique key (event, trigger) cannot be hit by executions of fresh events,
      // and if it ever were, the batch fails and is retried rather than running a trigger twice.
      for (const part of chunks(executions)) {
        await tx.exec(
          `INSERT INTO dispatch_executions (id, event_id, trigger_name, target, task, inputs, error, status, dispatched_at, dispatcher,
             attempt, max_attempts, backoff, timeout_ms, due_ms, emit) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          part.flatMap((x) => [
            x.id,
            x.eventId,
            x.trigger,
            x.target,
            x.task,
            JSON.stringify(x.inputs),
            x.error === undefined ? null : errorText(x.error),
            x.error ? 'failed' : 'dispatched',
            x.dispatchedAt,
            dispatcher,
            x.attempt ?? 1,
            x.maxAttempts ?? 1,
            x.backoff ? JSON.stringify(x.backoff) : null,
            x.timeoutMs ?? null,
            x.error ? null : (x.dueMs ?? null),
            x.emit ?? null,
          ]),
        );
      }
      return { fresh, executions };
    });
  }

  /**
   * Executions of these events still waiting for a result (what a dispatcher that died after
   * recording them may never have sent).
   */
  async unfinishedExecutions(eventIds: string[]): Promise<Sendable[]> {
    const out: Sendable[] = [];
    for (const part of chunks(eventIds)) {
      const rows = await this.sql.query(
        `SELECT ${SEND_COLUMNS} FROM dispatch_executions
         WHERE event_id IN (${part.map(() => '?').join(', ')}) AND status = 'dispatched' ORDER BY id`,
        part,
      );
      for (const r of rows) out.push(sendableFrom(r));
    }
    return out;
  }

  /**
   * Records results (task ids name the try: see `taskId`). Only the result of the try that is out
   * counts: a late one of a try that timed out, or a duplicate after a redelivery, changes nothing.
   * A success finishes the execution (many rows per statement: UPDATE ... FROM VALUES works on both
   * backends); an error fails the try (see `failAttempts`). Returns the executions that finished
   * now and emit their outputs.
   */
  async completeExecutions(results: ResultUpdate[], nowMs = Date.now()): Promise<EmitSource[]> {
    const successes: unknown[][] = [];
    const failures: FailedAttempt[] = [];
    for (const r of results) {
      const { executionId, attempt } = parseTaskId(r.executionId);
      if (r.error !== undefined) {
        failures.push({
          executionId,
          attempt,
          error: r.error,
          finishedAt: r.finishedAt,
          ...(r.startedAt ? { startedAt: r.startedAt } : {}),
        });
        continue;
      }
      const started = r.startedAt ?? null;
      const duration = started ? Math.max(0, Date.parse(r.finishedAt) - Date.parse(started)) : null;
      successes.push([
        executionId,
        attempt,
        r.outputs ? JSON.stringify(r.outputs) : null,
        started,
        r.finishedAt,
        duration,
      ]);
    }
    const finished: { id: string; emit: string }[] = [];
    if (successes.length)
      await this.sql.transaction(async (tx) => {
        for (const part of chunks(successes)) {
          const rows = await tx.query(
            `UPDATE dispatch_executions SET outputs = v.column3, error = NULL, status = 'done', started_at = v.column4,
               finished_at = v.column5, duration_ms = CAST(v.column6 AS BIGINT), due_ms = NULL
             FROM (VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}) AS v
             WHERE dispatch_executions.id = v.column1 AND dispatch_executions.attempt = CAST(v.column2 AS INTEGER)
               AND dispatch_executions.status = 'dispatched'
             RETURNING dispatch_executions.id, dispatch_executions.emit`,
            part.flat(),
          );
          for (const r of rows) if (r.emit) finished.push({ id: String(r.id), emit: String(r.emit) });
        }
      });
    if (failures.length) await this.failAttempts(failures, nowMs);
    return finished.length ? this.emitSources(finished.map((f) => f.id)) : [];
  }

  /** Where each of these executions was sent (`connector:ID`, `kind:K`, `sync:ACCOUNT`); unknown ids are absent. */
  async executionTargets(executionIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of chunks([...new Set(executionIds)])) {
      const rows = await this.sql.query(
        `SELECT id, target FROM dispatch_executions WHERE id IN (${part.map(() => '?').join(', ')})`,
        part,
      );
      for (const r of rows) out.set(String(r.id), String(r.target));
    }
    return out;
  }

  /**
   * Of these executions, the ones done with an `emit`: what their results emit (with their event's
   * hops). Asked again for a redelivered result, whose execution finished before.
   */
  async emitSources(executionIds: string[]): Promise<EmitSource[]> {
    const out: EmitSource[] = [];
    for (const part of chunks(executionIds)) {
      const rows = await this.sql.query(
        `SELECT x.id, x.emit, x.target, x.outputs, e.hops FROM dispatch_executions x LEFT JOIN dispatch_events e ON e.id = x.event_id
         WHERE x.id IN (${part.map(() => '?').join(', ')}) AND x.status = 'done' AND x.emit IS NOT NULL`,
        part,
      );
      for (const r of rows)
        out.push({
          executionId: String(r.id),
          emit: String(r.emit),
          target: String(r.target),
          outputs: parse(r.outputs, {}),
          hops: Number(r.hops ?? 0),
        });
    }
    return out;
  }

  /**
   * Tries that failed (an error, or no result in time). One with tries left waits for its next
   * (`retrying`, due after its back-off); the last one fails the execution. Either way the error is
   * kept in the execution's list of tries. Only the try that is out counts. Returns how many of
   * each.
   */
  async failAttempts(fails: FailedAttempt[], nowMs = Date.now()): Promise<{ retrying: number; failed: number }> {
    const counts = { retrying: 0, failed: 0 };
    if (!fails.length) return counts;
    const byId = new Map(fails.map((f) => [f.executionId, f]));
    await this.sql.transaction(async (tx) => {
      for (const part of chunks([...byId.keys()])) {
        const rows = await tx.query(
          `SELECT id, attempt, max_attempts, backoff, attempts_log FROM dispatch_executions
           WHERE id IN (${part.map(() => '?').join(', ')}) AND status = 'dispatched'`,
          part,
        );
        for (const r of rows) {
          const f = byId.get(String(r.id))!;
          const attempt = Number(r.attempt);
          if (f.attempt !== attempt) continue;
          const error = errorText(f.error);
          const log = [
            ...parse<AttemptRecord[]>(r.attempts_log, []),
            {
              attempt,
              error: error.length > MAX_ATTEMPT_ERROR_CHARS ? `${error.slice(0, MAX_ATTEMPT_ERROR_CHARS)}...` : error,
              startedAt: f.startedAt ?? null,
              finishedAt: f.finishedAt,
            },
          ].slice(-MAX_ATTEMPTS_KEPT);
          const again = attempt < Number(r.max_attempts);
          const backoff = parse<{ delayMs: number; factor: number; maxDelayMs: number } | null>(r.backoff, null);
          const due = again
            ? nowMs + backoffMs(backoff ?? { delayMs: 1000, factor: 2, maxDelayMs: 3_600_000 }, attempt)
            : null;
          const duration = f.startedAt ? Math.max(0, Date.parse(f.finishedAt) - Date.parse(f.startedAt)) : null;
          const n = await tx.exec(
            `UPDATE dispatch_executions SET status = ?, error = ?, attempts_log = ?, due_ms = ?, started_at = ?,
               finished_at = ?, duration_ms = ?
             WHERE id = ? AND status = 'dispatched' AND attempt = ?`,
            [
              again ? 'retrying' : 'failed',
              error,
              JSON.stringify(log),
              due,
              f.startedAt ?? null,
              f.finishedAt,
              duration,
              f.executionId,
              attempt,
            ],
          );
          if (n) counts[again ? 'retrying' : 'failed']++;
        }
      }
    });
    return counts;
  }

  /**
   * Tries out longer than their time limit (`due_ms` passed; a row from before limits were kept
   * counts from its dispatch, against `legacyBefore`). Sync actions without a limit of their own end
   * with their run. Returns the tries to fail, at most `limit`.
   */
  async overdueAttempts(
    nowMs: number,
    legacyBefore: string,
    limit = 1000,
  ): Promise<(FailedAttempt & { timeoutMs: number | null })[]> {
    const rows = await this.sql.query(
      `SELECT id, attempt, timeout_ms, due_ms, started_at FROM dispatch_executions
       WHERE status = 'dispatched' AND ((due_ms IS NOT NULL AND due_ms <= ?)
         OR (due_ms IS NULL AND dispatched_at < ? AND target NOT LIKE 'sync:%'))
       ORDER BY due_ms LIMIT ?`,
      [nowMs, legacyBefore, limit],
    );
    const at = new Date(nowMs).toISOString();
    return rows.map((r) => ({
      executionId: String(r.id),
      attempt: Number(r.attempt ?? 1),
      error: '',
      finishedAt: at,
      timeoutMs: r.timeout_ms === null || r.timeout_ms === undefined ? null : Number(r.timeout_ms),
      ...(r.started_at ? { startedAt: String(r.started_at) } : {}),
    }));
  }

  /**
   * Takes the tries that are due (`retrying` past their time) and marks them out: the next attempt,
   * its deadline. Across dispatchers on one store each is taken once (the UPDATE re-checks the
   * status under the row's lock). Returns what to send.
   */
  async claimDueAttempts(
    nowMs: number,
    defaultTimeoutMs: number,
    dispatcher: string | null,
    limit = 200,
  ): Promise<Sendable[]> {
    const rows = await this.sql.query(
      `UPDATE dispatch_executions SET status = 'dispatched', attempt = attempt + 1, error = NULL, outputs = NULL,
         started_at = NULL, finished_at = NULL, duration_ms = NULL, dispatcher = ?, run_id = NULL,
         due_ms = CASE WHEN timeout_ms IS NOT NULL THEN ? + timeout_ms WHEN target LIKE 'sync:%' THEN NULL ELSE ? END
       WHERE id IN (SELECT id FROM dispatch_executions WHERE status = 'retrying' AND due_ms <= ? ORDER BY due_ms LIMIT ?)
         AND status = 'retrying'
       RETURNING ${SEND_COLUMNS}`,
      [dispatcher, nowMs, nowMs + defaultTimeoutMs, nowMs, limit],
    );
    return rows.map(sendableFrom);
  }

  /**
   * Runs failed executions again: each gets `more(trigger)` tries beyond the ones it had, the first
   * due now (a running dispatcher sends it within a second). Only failed ones: a done, waiting or
   * retrying one is refused with the reason. Returns what was replayed and what was refused.
   */
  async replayExecutions(
    ids: string[],
    more: (trigger: string) => number,
    nowMs = Date.now(),
  ): Promise<{ replayed: ExecutionRecord[]; refused: { id: string; reason: string }[] }> {
    const refused: { id: string; reason: string }[] = [];
    const replayed: string[] = [];
    await this.sql.transaction(async (tx) => {
      for (const part of chunks([...new Set(ids)])) {
        const rows = await tx.query(
          `SELECT id, status, attempt, trigger_name, due_ms FROM dispatch_executions WHERE id IN (${part.map(() => '?').join(', ')})`,
          part,
        );
        const found = new Map(rows.map((r) => [String(r.id), r]));
        for (const id of part) {
          const r = found.get(id);
          if (!r) {
            refused.push({ id, reason: `no execution ${id} (see \`switchboard trigger log\`)` });
            continue;
          }
          if (r.status !== 'failed') {
            const why =
              r.status === 'done'
                ? 'it is done'
                : r.status === 'retrying'
                  ? `it waits for try ${Number(r.attempt) + 1}, due ${new Date(Number(r.due_ms)).toISOString()}`
                  : `try ${String(r.attempt)} is out, waiting for its result`;
            refused.push({ id, reason: `execution ${id} is not failed: ${why}; only failed executions are replayed` });
            continue;
          }
          const n = await tx.exec(
            `UPDATE dispatch_executions SET status = 'retrying', due_ms = ?, max_attempts = attempt + ? WHERE id = ? AND status = 'failed'`,
            [nowMs, Math.max(1, more(String(r.trigger_name))), id],
          );
          if (n) replayed.push(id);
        }
      }
    });
    const out: ExecutionRecord[] = [];
    for (const id of replayed) {
      const x = await this.getExecution(id);
      if (x) out.push(x);
    }
    return { replayed: out, refused };
  }

  /** Records the run a sync action's try started (only while that try is out). */
  async setRunId(executionId: string, attempt: number, runId: number): Promise<void> {
    await this.sql.exec(
      `UPDATE dispatch_executions SET run_id = ?, started_at = ? WHERE id = ? AND attempt = ? AND status = 'dispatched'`,
      [runId, new Date().toISOString(), executionId, attempt],
    );
  }

  /** Sync actions out with a run recorded: what a dispatcher checks, in case the one that started them is gone. */
  async syncTriesOut(limit = 100): Promise<Sendable[]> {
    const rows = await this.sql.query(
      `SELECT ${SEND_COLUMNS} FROM dispatch_executions
       WHERE status = 'dispatched' AND target LIKE 'sync:%' AND run_id IS NOT NULL ORDER BY dispatched_at LIMIT ?`,
      [limit],
    );
    return rows.map(sendableFrom);
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const rows = await this.sql.query(
      `SELECT x.*, e.key, e.connector_id, e.data, e.time, e.hops, e.caused_by FROM dispatch_executions x
       LEFT JOIN dispatch_events e ON e.id = x.event_id WHERE x.id = ?`,
      [id],
    );
    return rows[0] ? executionFrom(rows[0]) : undefined;
  }

  /**
   * Forgets history older than `before`: finished executions, then events none of whose executions
   * remain. An event forgotten this way is no longer recognised as a duplicate, so `before` must lie
   * well beyond any redelivery (the dispatcher keeps 7 days by default).
   */
  async pruneHistory(before: string): Promise<{ executions: number; events: number }> {
    return this.sql.transaction(async (tx) => {
      const executions = await tx.exec(
        `DELETE FROM dispatch_executions WHERE status IN ('done', 'failed') AND dispatched_at < ?`,
        [before],
      );
      const events = await tx.exec(
        `DELETE FROM dispatch_events WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM dispatch_executions x WHERE x.event_id = dispatch_events.id)`,
        [before],
      );
      return { executions, events };
    });
  }

  async listExecutions(
    opts: {
      limit?: number;
      trigger?: string;
      eventId?: string;
      status?: ExecutionRecord['status'];
      /** Only executions first dispatched at or after this ISO time. */
      since?: string;
    } = {},
  ): Promise<ExecutionRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.since) {
      where.push('x.dispatched_at >= ?');
      params.push(opts.since);
    }
    if (opts.trigger) {
      where.push('x.trigger_name = ?');
      params.push(opts.trigger);
    }
    if (opts.status) {
      where.push('x.status = ?');
      params.push(opts.status);
    }
    if (opts.eventId) {
      where.push('x.event_id = ?');
      params.push(opts.eventId);
    }
    params.push(opts.limit ?? 100);
    const rows = await this.sql.query(
      `SELECT x.*, e.key, e.connector_id, e.data, e.time, e.hops, e.caused_by FROM dispatch_executions x LEFT JOIN dispatch_events e ON e.id = x.event_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY x.dispatched_at DESC, x.id LIMIT ?`,
      params,
    );
    return rows.map(executionFrom);
  }

  async countExecutions(): Promise<{ total: number; byStatus: Record<string, number> }> {
    const rows = await this.sql.query('SELECT status, COUNT(*) AS n FROM dispatch_executions GROUP BY status');
    const byStatus: Record<string, number> = {};
    let total = 0;
    for (const r of rows) {
      byStatus[String(r.status)] = Number(r.n);
      total += Number(r.n);
    }
    return { total, byStatus };
  }

  async countEvents(): Promise<number> {
    const rows = await this.sql.query('SELECT COUNT(*) AS n FROM dispatch_events');
    return Number(rows[0]?.n ?? 0);
  }
}
