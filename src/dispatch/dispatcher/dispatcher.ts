/**
 * The dispatcher: a registry of connectors, the triggers, and the execution log, on the store.
 * It checks every agent message's token, answers registrations with the triggers that concern the
 * connector, records each new event once (dedup by event id), runs the index over it, sends a task
 * per matching trigger to the target connector (or kind), and records results as they come back.
 * When triggers change (in this process or through the store), agents get an invalidation.
 */
import { hostname } from 'node:os';
import { SwitchboardError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { LogThrottle } from '../../core/log-throttle.js';
import { isTransientStoreError } from '../../store/errors.js';
import { formatDuration } from '../../sync/duration.js';
import { parseTaskId, taskId, timeOrderedId } from '../protocol/ids.js';
import type { AgentMessage, TriggerSnapshot, WireTask } from '../protocol/wire.js';
import { resolveInputs } from '../trigger/inputs.js';
import { TriggerIndex } from '../trigger/matcher.js';
import { actionPolicy, MAX_CHAIN_HOPS, type ActionPolicy, type TriggerSpec } from '../trigger/schema.js';
import {
  TargetUnreachable,
  type DispatcherHandler,
  type DispatcherTransport,
  type HandleResult,
  type Inbound,
  type TaskTarget,
} from '../transport/types.js';
import type { DispatchDb } from './db.js';
import { hasActionObservers, reportAction } from './observe.js';
import type { SyncActions, SyncOutcome } from './sync-action.js';
import { hashToken } from './tokens.js';
import type { ConnectorRecord, EmitSource, FailedAttempt, NewEvent, NewExecution, ResultUpdate } from './types.js';

export interface DispatcherOptions {
  db: DispatchDb;
  transport: DispatcherTransport;
  log: Logger;
  /** How often to look for trigger changes made by other processes (ms). */
  pollMs?: number;
  /** A try without a result after this long fails, unless its trigger sets `timeout` (ms, default 10 minutes). */
  taskTimeoutMs?: number;
  /** How often tries that are due are sent and overdue ones failed (ms, default 1 s). */
  tickMs?: number;
  /** Events and finished executions older than this are deleted (ms, default 7 days; 0 keeps everything). */
  retainMs?: number;
  /** A message whose processing fails this many times (the store answering) is set aside with its reason. */
  poisonAfter?: number;
  /** Largest event data accepted, serialised as JSON (bytes). */
  maxEventBytes?: number;
  /** Starts syncs for `then: { sync: ACCOUNT }`; without it such an action fails with the reason. */
  sync?: SyncActions;
}

export const DEFAULT_POISON_AFTER = 3;
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

export const DEFAULT_RETAIN_MS = 7 * 24 * 3600_000;
export const DEFAULT_TASK_TIMEOUT_MS = 600_000;
/** History is pruned at most this often (the sweep runs every minute or faster). */
const PRUNE_EVERY_MS = 10 * 60_000;

/** Most executions waiting for a result that the latency metric tracks (the oldest are let go). */
const MAX_PENDING = 100_000;
/** At most one log line per kind of refusal this often (a flood of bad messages cannot flood the log). */
const REFUSAL_LOG_MS = 10_000;

/**
 * A trigger as agents get it: they filter events with `when` and `filters` and never act on
 * `then`, so it goes without what only the dispatcher reads (tries, limits, emit), which an agent
 * of an earlier version would refuse as unknown fields.
 */
function forAgents(t: TriggerSpec): TriggerSpec {
  const { kind, connector, task, inputs, sync } = t.then;
  // A sync action reads to an agent as a task of kind `sync` (what an agent of an earlier version accepts).
  if (sync !== undefined) return { ...t, then: { kind: 'sync', task: 'sync', inputs: {} } };
  return {
    ...t,
    then: { ...(kind !== undefined ? { kind } : {}), ...(connector !== undefined ? { connector } : {}), task, inputs },
  };
}

export class Dispatcher implements DispatcherHandler {
  private index = new TriggerIndex();
  private version = -1;
  private readonly connectors = new Map<string, ConnectorRecord>();
  private readonly tokenKinds = new Map<string, string | null>();
  private readonly lastTouched = new Map<string, number>();
  private readonly lookedUp = new Map<string, number>();
  /** Connector ids that enabled triggers send tasks to. */
  private targetConnectors = new Set<string>();
  private poller: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private ticking = false;
  /** Sync actions whose run this process started and waits for. */
  private readonly following = new Set<string>();
  private lastAbandonCheck = 0;
  /** Each enabled trigger's tries, limits and emit, read once per trigger change. */
  private policies = new Map<string, ActionPolicy>();
  private lastPrune = 0;
  readonly counters = {
    events: 0,
    duplicates: 0,
    executions: 0,
    results: 0,
    refused: 0,
    poisoned: 0,
    resent: 0,
    retried: 0,
    emitted: 0,
  };
  /** Who recorded an execution, in the log (several dispatchers may share a store). */
  readonly identity = `${hostname()}:${process.pid}`;
  /** Executions sent and waiting for their result: when (performance.now()) and by which trigger, for the latency metric. */
  private readonly pending = new Map<string, { at: number; trigger: string }>();

  /** Refusals and bad messages come from outside: one line per cause per interval, with a count. */
  private readonly refusalLog: LogThrottle;

  constructor(private readonly opts: DispatcherOptions) {
    this.refusalLog = new LogThrottle(opts.log, REFUSAL_LOG_MS);
  }

  get triggerCount(): number {
    return this.index.size;
  }

  async start(): Promise<void> {
    for (const c of await this.opts.db.listConnectors()) this.connectors.set(c.id, c);
    await this.reloadTriggers();
    await this.opts.transport.start(this);
    this.poller = setInterval(() => {
      void this.checkVersion();
    }, this.opts.pollMs ?? 500);
    this.poller.unref();
    this.sweeper = setInterval(() => {
      void this.tick();
    }, this.opts.tickMs ?? 1000);
    this.sweeper.unref();
    this.opts.log.info(
      { transport: this.opts.transport.kind, triggers: this.index.size, connectors: this.connectors.size },
      'dispatcher running',
    );
  }

  private get taskTimeoutMs(): number {
    return this.opts.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  }

  /**
   * Once a second (one at a time): tries whose agent never answered (it died after taking the task)
   * fail, tries that are due (a retry, a replay) go out, and now and then old history goes.
   */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.expire();
      await this.sendDue();
      await this.followSyncs();
      if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) await this.prune();
    } finally {
      this.ticking = false;
    }
  }

  private async expire(): Promise<void> {
    const timeoutMs = this.taskTimeoutMs;
    const cutoff = performance.now() - timeoutMs;
    for (const [id, p] of this.pending) {
      if (p.at > cutoff) break; // in dispatch order
      this.pending.delete(id);
      reportAction({ status: 'expired', trigger: p.trigger });
    }
    try {
      const now = Date.now();
      const overdue = await this.opts.db.overdueAttempts(now, new Date(now - timeoutMs).toISOString());
      if (!overdue.length) return;
      const n = await this.opts.db.failAttempts(
        overdue.map(({ timeoutMs: limit, ...f }) => ({
          ...f,
          error: `no result within ${formatDuration(limit ?? timeoutMs)} (the connector's agent may have stopped, or the task takes longer than its timeout)`,
        })),
        now,
      );
      this.opts.log.warn({ ...n }, 'tries timed out without a result');
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'cannot expire tries without a result');
    }
  }

  /** Sends the tries that are due (retries and replays); one whose target is gone fails at once. */
  async sendDue(): Promise<number> {
    let sent = 0;
    try {
      await this.knowTargets();
      for (;;) {
        const now = Date.now();
        const due = await this.opts.db.claimDueAttempts(now, this.taskTimeoutMs, this.identity);
        if (!due.length) break;
        const sends = new Map<string, { to: TaskTarget; tasks: WireTask[]; ids: { id: string; attempt: number }[] }>();
        const unsendable: FailedAttempt[] = [];
        const syncs: SyncStart[] = [];
        for (const x of due) {
          if (x.target.startsWith('sync:')) {
            syncs.push({ id: x.id, attempt: x.attempt, account: x.target.slice(5) });
            continue;
          }
          let s = sends.get(x.target);
          if (!s) {
            const to = this.taskTarget(x.target);
            if (!to) {
              unsendable.push({
                executionId: x.id,
                attempt: x.attempt,
                error: `${x.target.replace(':', ' ')} is not registered`,
                finishedAt: new Date(now).toISOString(),
              });
              continue;
            }
            s = { to, tasks: [], ids: [] };
            sends.set(x.target, s);
          }
          s.tasks.push({ executionId: taskId(x.id, x.attempt), key: x.task, inputs: x.inputs });
          s.ids.push({ id: x.id, attempt: x.attempt });
        }
        await Promise.all(
          [...sends.values()].map((s) =>
            this.opts.transport.sendTasks(s.to, s.tasks).catch((err: unknown) => {
              const at = new Date().toISOString();
              for (const { id, attempt } of s.ids)
                unsendable.push({ executionId: id, attempt, error: errorMessage(err), finishedAt: at });
            }),
          ),
        );
        await this.startSyncs(syncs);
        if (unsendable.length) await this.opts.db.failAttempts(unsendable);
        sent += due.length - unsendable.length;
        this.counters.retried += due.length;
        if (due.length < 200) break;
      }
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'cannot send the tries that are due');
    }
    if (sent) this.opts.log.info({ tries: sent }, 'sent tries that were due (retries, replays)');
    return sent;
  }

  /** Deletes history older than the retention period; returns what was deleted. */
  async prune(): Promise<{ executions: number; events: number }> {
    this.lastPrune = Date.now();
    const retainMs = this.opts.retainMs ?? DEFAULT_RETAIN_MS;
    if (retainMs <= 0) return { executions: 0, events: 0 };
    try {
      const deleted = await this.opts.db.pruneHistory(new Date(Date.now() - retainMs).toISOString());
      if (deleted.executions || deleted.events)
        this.opts.log.info({ ...deleted, retainDays: retainMs / 86_400_000 }, 'old events and executions deleted');
      return deleted;
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'cannot delete old events and executions');
      return { executions: 0, events: 0 };
    }
  }

  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    if (this.sweeper) clearInterval(this.sweeper);
    await this.opts.transport.close();
  }

  private async checkVersion(): Promise<void> {
    try {
      const v = await this.opts.db.triggerVersion();
      if (v !== this.version) await this.reloadTriggers();
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'cannot read the trigger version from the store');
    }
  }

  /** Reloads triggers from the store and tells agents to refresh theirs. */
  async reloadTriggers(): Promise<void> {
    if (this.reloading) return this.reloading;
    this.reloading = (async () => {
      const version = await this.opts.db.triggerVersion();
      const records = await this.opts.db.listTriggers();
      this.index = new TriggerIndex(records.map((r) => ({ ...r.spec, enabled: r.enabled })));
      this.policies = new Map(
        records.flatMap((r) => (r.enabled ? [[r.name, actionPolicy(r.spec.then)] as const] : [])),
      );
      this.targetConnectors = new Set(
        records.flatMap((r) => (r.enabled && r.spec.then.connector !== undefined ? [r.spec.then.connector] : [])),
      );
      const changed = this.version !== -1;
      this.version = version;
      if (changed) {
        this.opts.log.info({ version, triggers: this.index.size }, 'triggers changed; telling agents');
        await this.opts.transport.broadcastInvalidate(version);
      }
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /**
   * Connectors that triggers send tasks to, looked up in the store when this process has not seen
   * them register (another dispatcher on the same store may have): at most once a second each.
   */
  private async knowTargets(): Promise<void> {
    const now = Date.now();
    for (const id of this.targetConnectors) {
      if (this.connectors.has(id) || now - (this.lookedUp.get(id) ?? 0) < 1000) continue;
      this.lookedUp.set(id, now);
      const rec = await this.opts.db.getConnector(id);
      if (rec) this.connectors.set(rec.id, rec);
    }
  }

  snapshotFor(connectorId: string, kind: string): TriggerSnapshot {
    return {
      version: this.version,
      triggers: this.index
        .all()
        .filter((t) => t.when.connector === connectorId || t.when.kind === kind)
        .map(forAgents),
    };
  }

  private async kindOfToken(token: string): Promise<string | undefined> {
    if (!token) return undefined;
    const hash = hashToken(token);
    let kind = this.tokenKinds.get(hash);
    if (kind === undefined) {
      kind = (await this.opts.db.tokenKind(hash)) ?? null;
      // Only remember good tokens: a token issued after a refusal must work at once.
      if (kind !== null) this.tokenKinds.set(hash, kind);
    }
    return kind ?? undefined;
  }

  /** Refusal reason, or undefined when the token may speak for this connector. */
  private async refuse(m: AgentMessage): Promise<string | undefined> {
    const kind = await this.kindOfToken(m.token);
    if (kind === undefined)
      return m.token
        ? 'the token is not one this dispatcher issued (issue one with `switchboard connector token --kind K`)'
        : 'no token (set SWITCHBOARD_AGENT_TOKEN or --token-file; issue one with `switchboard connector token --kind K`)';
    if (m.type !== 'register' && !this.connectors.has(m.connectorId)) {
      // Registered through another dispatcher on the same store (several may share a queue).
      const rec = await this.opts.db.getConnector(m.connectorId);
      if (rec) this.connectors.set(rec.id, rec);
    }
    const connectorKind = m.type === 'register' ? m.connector.kind : this.connectors.get(m.connectorId)?.kind;
    if (connectorKind === undefined) {
      if (m.type === 'holder') return undefined; // nobody registered it: the answer is "no holder"
      return `connector ${m.type === 'register' ? m.connector.id : m.connectorId} is not registered`;
    }
    if (connectorKind !== kind) return `the token is for kind ${kind}, not ${connectorKind}`;
    return undefined;
  }

  /**
   * Registrations and trigger requests are answered from the store's current triggers, not from a
   * cache that the poll may not have refreshed yet (another process may have just added a trigger).
   */
  private async freshTriggers(batch: Inbound[]): Promise<void> {
    if (!batch.some((b) => b.message.type === 'register' || b.message.type === 'triggers')) return;
    // A reload already under way may have read the store before the change: check again after it.
    for (let i = 0; i < 3 && (await this.opts.db.triggerVersion()) !== this.version; i++) await this.reloadTriggers();
  }

  /**
   * Processes a batch. When it fails as a whole, the store decides what happens: unreachable or busy
   * (a transient error) and the batch is retried later by the transport, nothing set aside;
   * otherwise each message is processed on its own, so one poison message neither holds the batch
   * back nor loops forever: it is tried `poisonAfter` times and then refused with the reason (the
   * transport dead-letters it), while the others go through.
   */
  async handle(batch: Inbound[]): Promise<HandleResult> {
    await this.freshTriggers(batch);
    const sent: Promise<unknown>[] = [];
    try {
      const outcomes = await this.process(batch, sent);
      return { outcomes, settled: Promise.all(sent) };
    } catch (err) {
      await this.unlessStoreTrouble(err);
      this.opts.log.warn(
        { err: errorMessage(err), messages: batch.length },
        'a batch failed; processing its messages one by one',
      );
    }
    const outcomes: (Error | undefined)[] = [];
    for (const inbound of batch) outcomes.push(await this.processAlone(inbound, sent));
    return { outcomes, settled: Promise.all(sent) };
  }

  /** Throws `err` again when it is the store's trouble rather than the message's. */
  private async unlessStoreTrouble(err: unknown): Promise<void> {
    if (isTransientStoreError(err) || !(await this.opts.db.ping())) throw err;
  }

  private async processAlone(inbound: Inbound, sent: Promise<unknown>[]): Promise<Error | undefined> {
    const tries = this.opts.poisonAfter ?? DEFAULT_POISON_AFTER;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.process([inbound], sent))[0];
      } catch (err) {
        await this.unlessStoreTrouble(err);
        if (attempt >= tries) {
          this.counters.poisoned++;
          return new SwitchboardError(
            'INVALID_MESSAGE',
            `processing failed ${attempt} times (${errorMessage(err)}); set aside`,
          );
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  /** One pass over messages in order. What it sends is pushed to `sent` (awaited before the batch is acknowledged). */
  private async process(batch: Inbound[], sent: Promise<unknown>[]): Promise<(Error | undefined)[]> {
    const outcomes: (Error | undefined)[] = new Array(batch.length).fill(undefined);
    const events: NewEvent[] = [];
    const results: ResultUpdate[] = [];
    /** Which connector sent each execution's result (the one that ran it, for a kind). */
    const resultFrom = new Map<string, string>();
    const redeliveredResults: string[] = [];
    const now = new Date().toISOString();
    const touched = new Set<string>();
    const maxEventBytes = this.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    for (let i = 0; i < batch.length; i++) {
      const { message: m, reply } = batch[i]!;
      const refusal = await this.refuse(m);
      const who = m.type === 'register' ? m.connector.id : m.connectorId;
      if (refusal) {
        this.counters.refused++;
        this.refusalLog.warn(
          `refused ${m.type}`,
          { connector: who, type: m.type },
          `refused a ${m.type} message: ${refusal}`,
        );
        if (reply) sent.push(reply({ type: 'refused', ok: false, code: 'PERMISSION_DENIED', message: refusal }));
        else outcomes[i] = new SwitchboardError('PERMISSION_DENIED', `refused: ${refusal}`);
        continue;
      }
      touched.add(who);
      switch (m.type) {
        case 'register': {
          const rec = await this.opts.db.upsertConnector(m.connector, now);
          this.connectors.set(rec.id, rec);
          this.opts.log.info({ connector: rec.id, kind: rec.kind, meta: rec.meta }, 'connector registered');
          if (reply) sent.push(reply({ type: 'registered', ok: true, snapshot: this.snapshotFor(rec.id, rec.kind) }));
          break;
        }
        case 'unregister': {
          await this.opts.db.setConnectorStatus(m.connectorId, 'offline', now);
          const c = this.connectors.get(m.connectorId);
          if (c) c.status = 'offline';
          this.opts.log.info({ connector: m.connectorId }, 'connector unregistered');
          break;
        }
        case 'triggers': {
          const c = this.connectors.get(m.connectorId)!;
          if (reply) sent.push(reply({ type: 'snapshot', ok: true, snapshot: this.snapshotFor(c.id, c.kind) }));
          break;
        }
        case 'holder': {
          const c = await this.opts.db.getConnector(m.connectorId);
          const holder = c
            ? {
                id: c.id,
                kind: c.kind,
                status: c.status,
                registeredAt: c.registeredAt,
                lastSeen: c.lastSeen,
                host: typeof c.meta.host === 'string' ? c.meta.host : null,
                pid: typeof c.meta.pid === 'number' ? c.meta.pid : null,
              }
            : null;
          if (reply) sent.push(reply({ type: 'holder', ok: true, holder }));
          break;
        }
        case 'events': {
          const c = this.connectors.get(m.connectorId)!;
          const undeclared = c.events.length ? m.events.find((e) => !c.events.includes(e.key)) : undefined;
          if (undeclared) {
            outcomes[i] = new SwitchboardError(
              'INVALID_MESSAGE',
              `connector ${c.id} never declared event "${undeclared.key}" (it declared ${c.events.join(', ')})`,
            );
            break;
          }
          // Serialised once here: for the size limit and for the store.
          const mine: NewEvent[] = [];
          for (const e of m.events) {
            const dataText = JSON.stringify(e.data);
            if (dataText.length > maxEventBytes && Buffer.byteLength(dataText) > maxEventBytes) {
              outcomes[i] = new SwitchboardError(
                'INVALID_MESSAGE',
                `event ${e.id} (${e.key}) carries ${Buffer.byteLength(dataText)} bytes of data; events are limited to ${maxEventBytes} bytes`,
              );
              break;
            }
            mine.push({
              id: e.id,
              connectorId: c.id,
              kind: c.kind,
              key: e.key,
              data: e.data,
              dataText,
              time: e.time,
              ...(batch[i]!.redelivered ? { redelivered: true } : {}),
            });
          }
          if (!outcomes[i]) events.push(...mine);
          break;
        }
        case 'results': {
          const mine = await this.ownResults(m.connectorId, m.results);
          if (mine.foreign.length) {
            this.counters.refused++;
            const sentence = `connector ${m.connectorId} sent results for ${mine.foreign.length} execution(s) not assigned to it or to its kind (${mine.foreign.slice(0, 3).join(', ')}${mine.foreign.length > 3 ? ', ...' : ''}); they were ignored`;
            this.refusalLog.warn(
              'foreign results',
              { connector: m.connectorId, refused: mine.foreign.length },
              sentence,
            );
            outcomes[i] = new SwitchboardError('PERMISSION_DENIED', `refused: ${sentence}`);
          }
          for (const r of mine.own) {
            results.push(r);
            resultFrom.set(parseTaskId(r.executionId).executionId, m.connectorId);
          }
          if (batch[i]!.redelivered) for (const r of mine.own) redeliveredResults.push(r.executionId);
          break;
        }
      }
    }
    if (results.length) {
      const emits = await this.opts.db.completeExecutions(results);
      // A redelivered result may be one whose execution finished before its emit was recorded.
      if (redeliveredResults.length) {
        const known = new Set(emits.map((e) => e.executionId));
        const ids = redeliveredResults.map((id) => parseTaskId(id).executionId).filter((id) => !known.has(id));
        if (ids.length) emits.push(...(await this.opts.db.emitSources(ids)));
      }
      for (const src of emits) {
        const e = this.emitted(src, resultFrom.get(src.executionId), redeliveredResults.length > 0);
        if (e) events.push(e);
      }
      this.counters.results += results.length;
      this.observeResults(results);
    }
    if (events.length) sent.push((await this.dispatch(events)).confirmed);
    await this.touch(touched, now);
    return outcomes;
  }

  /**
   * A token proves a kind, and the connector id was checked against it: of these results, those of
   * executions sent to this connector or to its kind (own), and those sent elsewhere (foreign),
   * which must not complete anything. Results of unknown executions are neither: they change nothing.
   */
  private async ownResults(
    connectorId: string,
    results: ResultUpdate[],
  ): Promise<{ own: ResultUpdate[]; foreign: string[] }> {
    const kind = this.connectors.get(connectorId)?.kind;
    const targets = await this.opts.db.executionTargets(results.map((r) => parseTaskId(r.executionId).executionId));
    const own: ResultUpdate[] = [];
    const foreign: string[] = [];
    for (const r of results) {
      const target = targets.get(parseTaskId(r.executionId).executionId);
      if (target === undefined) continue; // no such execution (pruned, or a task the dispatcher never sent): changes nothing
      if (target === `connector:${connectorId}` || (kind !== undefined && target === `kind:${kind}`)) own.push(r);
      else foreign.push(r.executionId);
    }
    return { own, foreign };
  }

  /**
   * The event a finished execution's outputs become (its trigger's `emit`): from the connector that
   * ran it, one hop further down the chain than its own event. Its id derives from the execution,
   * so a result processed twice emits once.
   */
  private emitted(src: EmitSource, sender: string | undefined, redelivered: boolean): NewEvent | undefined {
    const connectorId = src.target.startsWith('connector:')
      ? src.target.slice('connector:'.length)
      : src.target.startsWith('sync:')
        ? 'sync'
        : (sender ?? src.target.slice(src.target.indexOf(':') + 1));
    const kind = src.target.startsWith('kind:')
      ? src.target.slice('kind:'.length)
      : src.target.startsWith('sync:')
        ? 'sync'
        : (this.connectors.get(connectorId)?.kind ?? connectorId);
    // Outputs can be larger than an event may be (a result's limit is the agent's batch): held to the event limit.
    const dataText = JSON.stringify(src.outputs);
    const max = this.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    if (dataText.length > max && Buffer.byteLength(dataText) > max) {
      this.opts.log.warn(
        { execution: src.executionId, emit: src.emit },
        `the outputs of execution ${src.executionId} are ${Buffer.byteLength(dataText)} bytes; events are limited to ${max} bytes: not emitted as ${src.emit}`,
      );
      return undefined;
    }
    this.counters.emitted++;
    return {
      id: `emit:${src.executionId}`,
      connectorId,
      kind,
      key: src.emit,
      data: src.outputs,
      dataText,
      time: new Date().toISOString(),
      hops: src.hops + 1,
      causedBy: src.executionId,
      ...(redelivered ? { redelivered: true } : {}),
    };
  }

  /** Only results of executions this process dispatched count (a redelivered duplicate finds nothing). */
  private observeResults(results: ResultUpdate[]): void {
    if (this.pending.size === 0) return;
    const now = performance.now();
    for (const r of results) {
      const p = this.pending.get(r.executionId);
      if (!p) continue;
      this.pending.delete(r.executionId);
      reportAction({ status: r.error !== undefined ? 'failed' : 'done', trigger: p.trigger, latencyMs: now - p.at });
    }
  }

  private async touch(ids: Set<string>, now: string): Promise<void> {
    const due: string[] = [];
    const t = Date.now();
    for (const id of ids) {
      if (t - (this.lastTouched.get(id) ?? 0) < 1000) continue;
      this.lastTouched.set(id, t);
      due.push(id);
    }
    if (due.length) await this.opts.db.touchConnectors(due, now);
  }

  /** Where an execution's task goes, or undefined when its connector is not registered. */
  private taskTarget(target: string): TaskTarget | undefined {
    if (target.startsWith('kind:')) return { kind: target.slice(5) };
    const id = target.slice('connector:'.length);
    const c = this.connectors.get(id);
    return c ? { connector: id, kind: c.kind } : undefined;
  }

  /**
   * Records new events and their executions in one transaction, then sends the tasks; resolves to
   * their confirmation. An event seen before in a message that may have been processed already (a
   * dispatcher stopped between recording and acknowledging it) has its unfinished executions sent
   * again: the dispatcher that recorded them may have died before sending. The agent runs a task
   * id once (it keeps the recent ones), so a task that did go out is not run twice.
   */
  private async dispatch(events: NewEvent[]): Promise<{ confirmed: Promise<unknown> }> {
    await this.knowTargets();
    const unsendable: FailedAttempt[] = [];
    const syncs: SyncStart[] = [];
    type Sends = Map<string, { to: TaskTarget; tasks: WireTask[] }>;
    const sends: Sends = new Map();
    const resends: Sends = new Map();
    const send = (target: string, task: WireTask, into = sends): boolean => {
      let s = into.get(target);
      if (!s) {
        const to = this.taskTarget(target);
        if (!to) return false;
        s = { to, tasks: [] };
        into.set(target, s);
      }
      s.tasks.push(task);
      return true;
    };
    const { fresh, executions } = await this.opts.db.recordEvents(
      events,
      (fresh) => {
        const execs: NewExecution[] = [];
        unsendable.length = 0; // the transaction may run this again
        syncs.length = 0;
        const nowMs = Date.now();
        const dispatchedAt = new Date(nowMs).toISOString();
        for (const ev of fresh) {
          for (const t of this.index.match({ connector: ev.connectorId, kind: ev.kind, key: ev.key, data: ev.data })) {
            const then = t.spec.then;
            const policy = this.policies.get(t.spec.name) ?? actionPolicy(then);
            const missing: string[] = [];
            const inputs = resolveInputs(
              then.inputs,
              { id: ev.id, key: ev.key, connector: ev.connectorId, kind: ev.kind, time: ev.time, data: ev.data },
              missing,
            );
            const target =
              then.sync !== undefined
                ? `sync:${then.sync}`
                : then.connector !== undefined
                  ? `connector:${then.connector}`
                  : `kind:${then.kind!}`;
            const task = then.sync !== undefined ? 'sync' : then.task!;
            const exec: NewExecution = {
              id: timeOrderedId(),
              eventId: ev.id,
              trigger: t.spec.name,
              target,
              task,
              inputs,
              dispatchedAt,
              attempt: 1,
              maxAttempts: policy.attempts,
              backoff: { delayMs: policy.delayMs, factor: policy.factor, maxDelayMs: policy.maxDelayMs },
              timeoutMs: policy.timeoutMs,
              // A sync's run has its own time limit: its execution waits for it unless the trigger says otherwise.
              dueMs:
                policy.timeoutMs !== null
                  ? nowMs + policy.timeoutMs
                  : then.sync !== undefined
                    ? undefined
                    : nowMs + this.taskTimeoutMs,
              emit: policy.emit,
            };
            if ((ev.hops ?? 0) >= MAX_CHAIN_HOPS)
              exec.error = `refused: event ${ev.id} (${ev.key}) is ${ev.hops} hops down a chain of triggers, each emitted from the result of the one before (the last from execution ${ev.causedBy ?? '?'}); chains stop at ${MAX_CHAIN_HOPS} hops, which a loop of triggers reaches: check the triggers with emit: ${ev.key}`;
            else if (then.sync !== undefined) syncs.push({ id: exec.id, attempt: 1, account: then.sync });
            else if (!send(target, { executionId: exec.id, key: task, inputs }))
              unsendable.push({
                executionId: exec.id,
                attempt: 1,
                error: `connector ${then.connector} is not registered`,
                finishedAt: dispatchedAt,
              });
            execs.push(exec);
          }
        }
        return execs;
      },
      this.identity,
    );
    if (events.length !== fresh.length) {
      const seen = new Set(fresh.map((e) => e.id));
      const again = events.filter((e) => e.redelivered && !seen.has(e.id)).map((e) => e.id);
      if (again.length) {
        const unfinished = await this.opts.db.unfinishedExecutions(again);
        for (const x of unfinished) {
          if (x.target.startsWith('sync:')) {
            // Started already: its run is followed (followSyncs); not started: start it now.
            if (x.runId === null) syncs.push({ id: x.id, attempt: x.attempt, account: x.target.slice(5) });
            continue;
          }
          send(x.target, { executionId: taskId(x.id, x.attempt), key: x.task, inputs: x.inputs }, resends);
        }
        if (unfinished.length) {
          this.counters.resent += unfinished.length;
          this.opts.log.info(
            { executions: unfinished.length, events: again.length },
            'sent again the unfinished executions of redelivered events',
          );
        }
      }
    }
    // Not sent (its connector is not registered): a try that failed, so a trigger with attempts waits for it.
    if (unsendable.length) await this.opts.db.failAttempts(unsendable);
    this.counters.events += fresh.length;
    this.counters.duplicates += events.length - fresh.length;
    this.counters.executions += executions.length;
    if (hasActionObservers()) {
      const at = performance.now();
      const unsent = new Set(unsendable.map((u) => u.executionId));
      for (const x of executions) {
        if (x.error || unsent.has(x.id)) {
          reportAction({ status: 'unsent', trigger: x.trigger });
          continue;
        }
        if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
        this.pending.set(x.id, { at, trigger: x.trigger });
      }
    }
    if (events.length !== fresh.length)
      this.opts.log.debug({ duplicates: events.length - fresh.length }, 'ignored events already dispatched');
    // A task sent again that cannot go (over the hub: no connector of its kind online) does not hold
    // back the event's message: it waits for its result like any other, and times out.
    const again = [...resends.values()].map((s) =>
      this.opts.transport.sendTasks(s.to, s.tasks).catch((err: unknown) => {
        this.opts.log.warn({ err: errorMessage(err), tasks: s.tasks.length }, 'could not send tasks again');
      }),
    );
    return {
      confirmed: Promise.all([
        ...[...sends.values()].map((s) =>
          this.opts.transport.sendTasks(s.to, s.tasks).catch(async (err: unknown) => {
            // Its agent is gone (over the hub): a try that failed with the reason, like an unregistered target.
            if (!(err instanceof TargetUnreachable)) throw err;
            const at = new Date().toISOString();
            await this.opts.db.failAttempts(
              s.tasks.map((t) => ({ executionId: t.executionId, attempt: 1, error: err.message, finishedAt: at })),
            );
          }),
        ),
        ...again,
        // Acknowledged once each run is recorded and named in its execution (a failure to start is recorded too).
        this.startSyncs(syncs),
      ]),
    };
  }

  /**
   * Starts sync actions: each run is recorded, named in its execution, and followed to its end in
   * this process. One that cannot start (no such account; syncing already) is a failed try.
   */
  private async startSyncs(starts: SyncStart[]): Promise<void> {
    if (!starts.length) return;
    const sync = this.opts.sync;
    const failed: FailedAttempt[] = [];
    await Promise.all(
      starts.map(async (x) => {
        if (!sync) {
          failed.push({
            executionId: x.id,
            attempt: x.attempt,
            error:
              'this dispatcher starts no syncs: it runs without the sync store (switchboard start and switchboard dispatcher give it theirs)',
            finishedAt: new Date().toISOString(),
          });
          return;
        }
        try {
          const { runId, done } = await sync.start(x.account);
          await this.opts.db.setRunId(x.id, x.attempt, runId);
          this.following.add(x.id);
          this.opts.log.info({ execution: x.id, account: x.account, run: runId }, 'sync action started');
          void done
            .then((outcome) => this.finishSync(x.id, x.attempt, outcome))
            .catch((err: unknown) =>
              this.opts.log.warn({ err: errorMessage(err), execution: x.id }, "cannot record a sync action's end"),
            )
            .finally(() => this.following.delete(x.id));
        } catch (err) {
          failed.push({
            executionId: x.id,
            attempt: x.attempt,
            error: `cannot start the sync of ${x.account}: ${errorMessage(err)}`,
            finishedAt: new Date().toISOString(),
          });
        }
      }),
    );
    if (failed.length) await this.opts.db.failAttempts(failed);
  }

  /** A sync action's try ends with its run: done with the run's figures, or failed with its error. */
  private async finishSync(id: string, attempt: number, run: SyncOutcome): Promise<void> {
    const base = {
      executionId: taskId(id, attempt),
      startedAt: run.startedAt,
      finishedAt: run.finishedAt ?? new Date().toISOString(),
    };
    const result: ResultUpdate = run.success
      ? {
          ...base,
          outputs: {
            runId: run.runId,
            account: run.account,
            connector: run.connector,
            status: run.status,
            objects: run.objects,
            pages: run.pages,
          },
        }
      : {
          ...base,
          error: `sync run ${run.runId} of ${run.account} ${run.status.replace('_', ' ')}: ${run.error ?? 'no reason given'}`,
        };
    const emits = await this.opts.db.completeExecutions([result]);
    this.counters.results++;
    if (emits.length) {
      const events = emits.flatMap((src) => this.emitted(src, undefined, false) ?? []);
      if (events.length) await (await this.dispatch(events)).confirmed;
    }
  }

  /**
   * Sync actions whose run this process does not follow (another dispatcher started it and may be
   * gone): finished runs end their executions; runs whose process is gone are closed first.
   */
  private async followSyncs(): Promise<void> {
    const sync = this.opts.sync;
    if (!sync) return;
    try {
      const out = (await this.opts.db.syncTriesOut()).filter((x) => !this.following.has(x.id) && x.runId !== null);
      let running = false;
      for (const x of out) {
        const run = await sync.run(x.runId!);
        if (run.finished) await this.finishSync(x.id, x.attempt, run);
        else running = true;
      }
      if (running && Date.now() - this.lastAbandonCheck >= 60_000) {
        this.lastAbandonCheck = Date.now();
        const n = await sync.closeAbandoned();
        if (n) this.opts.log.warn({ runs: n }, 'closed sync runs whose process is gone');
      }
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'cannot follow sync actions');
    }
  }
}

interface SyncStart {
  id: string;
  attempt: number;
  account: string;
}
