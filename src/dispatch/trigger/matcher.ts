/**
 * An index of triggers so an event never scans them all. Two levels:
 *  1. a bucket per (kind or connector, event) — an event looks in at most four buckets
 *     (its connector, its kind, each with its key and with `*`);
 *  2. inside a bucket, triggers with an `eq` (or `in`) filter are indexed by that path and value, so
 *     an event reads its value at each indexed path once and picks the few triggers that can match.
 * Only those candidates run their filters. Disabled triggers are not indexed.
 */
import { SwitchboardError } from '../../core/errors.js';
import type { JsonValue } from '../../core/message.js';
import { compileFilter, type CompiledFilter } from './filter.js';
import { canonicalKey, getPath } from './path.js';
import type { TriggerSpec } from './schema.js';

export interface CompiledTrigger {
  readonly spec: TriggerSpec;
  readonly filters: readonly CompiledFilter[];
}

export interface MatchableEvent {
  connector: string;
  kind: string;
  key: string;
  data: JsonValue;
}

interface Bucket {
  /** path -> (canonical value -> triggers indexed under it) */
  byValue: Map<string, { segments: readonly string[]; values: Map<string, Set<CompiledTrigger>> }>;
  rest: Set<CompiledTrigger>;
}

/** Where a trigger's bucket hangs: by kind or by connector name, then by event key. */
interface BucketRef {
  by: 'kind' | 'connector';
  name: string;
  event: string;
}

export function compileTrigger(spec: TriggerSpec): CompiledTrigger {
  return { spec, filters: spec.filters.map(compileFilter) };
}

export function triggerMatches(t: CompiledTrigger, data: JsonValue): boolean {
  for (const f of t.filters) if (!f.test(data)) return false;
  return true;
}

export class TriggerIndex {
  // Nested maps (owner name -> event key -> bucket) so a lookup uses the event's own strings
  // instead of building a composite key per event (which showed in profiles of the agent).
  private readonly byKind = new Map<string, Map<string, Bucket>>();
  private readonly byConnector = new Map<string, Map<string, Bucket>>();
  private readonly byName = new Map<
    string,
    { trigger: CompiledTrigger; bucket: BucketRef; indexPath?: string; indexKeys?: string[] }
  >();

  constructor(specs: Iterable<TriggerSpec & { enabled?: boolean }> = []) {
    for (const s of specs) this.add(s);
  }

  get size(): number {
    return this.byName.size;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Adds or replaces a trigger (by name). A disabled trigger is only removed. */
  add(spec: TriggerSpec & { enabled?: boolean }): void {
    this.remove(spec.name);
    if (spec.enabled === false) return;
    const trigger = compileTrigger(spec);
    const bKey: BucketRef =
      spec.when.kind !== undefined
        ? { by: 'kind', name: spec.when.kind, event: spec.when.event }
        : { by: 'connector', name: spec.when.connector!, event: spec.when.event };
    const owners = bKey.by === 'kind' ? this.byKind : this.byConnector;
    let events = owners.get(bKey.name);
    if (!events) {
      events = new Map();
      owners.set(bKey.name, events);
    }
    let bucket = events.get(bKey.event);
    if (!bucket) {
      bucket = { byValue: new Map(), rest: new Set() };
      events.set(bKey.event, bucket);
    }
    const indexed =
      trigger.filters.find((f) => f.op === 'eq') ??
      trigger.filters.find((f) => f.op === 'in' && Array.isArray(f.value) && f.value.length > 0);
    if (!indexed) {
      bucket.rest.add(trigger);
      this.byName.set(spec.name, { trigger, bucket: bKey });
      return;
    }
    const keys =
      indexed.op === 'eq'
        ? [canonicalKey(indexed.value)]
        : [...new Set((indexed.value as JsonValue[]).map(canonicalKey))];
    let entry = bucket.byValue.get(indexed.path);
    if (!entry) {
      entry = { segments: indexed.segments, values: new Map() };
      bucket.byValue.set(indexed.path, entry);
    }
    for (const k of keys) {
      let set = entry.values.get(k);
      if (!set) {
        set = new Set();
        entry.values.set(k, set);
      }
      set.add(trigger);
    }
    this.byName.set(spec.name, { trigger, bucket: bKey, indexPath: indexed.path, indexKeys: keys });
  }

  remove(name: string): boolean {
    const found = this.byName.get(name);
    if (!found) return false;
    this.byName.delete(name);
    const owners = found.bucket.by === 'kind' ? this.byKind : this.byConnector;
    const events = owners.get(found.bucket.name)!;
    const bucket = events.get(found.bucket.event)!;
    if (found.indexPath === undefined) bucket.rest.delete(found.trigger);
    else {
      const entry = bucket.byValue.get(found.indexPath);
      if (!entry) throw new SwitchboardError('INTERNAL', `trigger index out of step for ${name}`);
      for (const k of found.indexKeys!) {
        const set = entry.values.get(k);
        set?.delete(found.trigger);
        if (set && set.size === 0) entry.values.delete(k);
      }
      if (entry.values.size === 0) bucket.byValue.delete(found.indexPath);
    }
    if (bucket.rest.size === 0 && bucket.byValue.size === 0) {
      events.delete(found.bucket.event);
      if (events.size === 0) owners.delete(found.bucket.name);
    }
    return true;
  }

  /** Triggers whose `when` names this event's connector or kind and event key (before filters). */
  private candidates(ev: MatchableEvent, out: Set<CompiledTrigger>): void {
    const byConnector = this.byConnector.get(ev.connector);
    const byKind = this.byKind.get(ev.kind);
    if (byConnector) {
      this.fromBucket(byConnector.get(ev.key), ev, out);
      this.fromBucket(byConnector.get('*'), ev, out);
    }
    if (byKind) {
      this.fromBucket(byKind.get(ev.key), ev, out);
      this.fromBucket(byKind.get('*'), ev, out);
    }
  }

  private fromBucket(bucket: Bucket | undefined, ev: MatchableEvent, out: Set<CompiledTrigger>): void {
    if (!bucket) return;
    for (const t of bucket.rest) out.add(t);
    for (const entry of bucket.byValue.values()) {
      const actual = getPath(ev.data, entry.segments);
      if (actual === undefined) continue;
      const set = entry.values.get(canonicalKey(actual));
      if (set) for (const t of set) out.add(t);
    }
  }

  /** The enabled triggers this event satisfies, in name order. */
  match(ev: MatchableEvent): CompiledTrigger[] {
    const cands = new Set<CompiledTrigger>();
    this.candidates(ev, cands);
    const out: CompiledTrigger[] = [];
    for (const t of cands) if (triggerMatches(t, ev.data)) out.push(t);
    if (out.length > 1) out.sort((a, b) => (a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0));
    return out;
  }

  /** Whether any enabled trigger listens for this connector/kind and event key at all. */
  listensFor(connector: string, kind: string, key: string): boolean {
    const byConnector = this.byConnector.get(connector);
    const byKind = this.byKind.get(kind);
    return !!byConnector?.has(key) || !!byKind?.has(key) || !!byConnector?.has('*') || !!byKind?.has('*');
  }

  all(): TriggerSpec[] {
    return [...this.byName.values()].map((v) => v.trigger.spec);
  }
}
