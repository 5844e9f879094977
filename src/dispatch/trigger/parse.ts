/**
 * Reads trigger files (YAML or JSON; JSON is read by the same YAML parser so both get line
 * numbers). A file holds one trigger, a list of triggers, or `{ triggers: [...] }`. Problems come
 * back as one error listing each with its line and field, e.g.
 *   `triggers.yml:7: filters[1].op: op must be one of eq, ne, ...`
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { InvalidArgumentError } from '../../core/errors.js';
import { triggerSpecSchema, type TriggerSpec } from './schema.js';

export interface TriggerProblem {
  line: number;
  field: string;
  message: string;
}

export class TriggerFileError extends InvalidArgumentError {
  readonly problems: TriggerProblem[];
  constructor(source: string, problems: TriggerProblem[]) {
    super(
      `${source} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n` +
        problems.map((p) => `  ${source}:${p.line}: ${p.field ? `${p.field}: ` : ''}${p.message}`).join('\n'),
      { data: { problems } },
    );
    this.problems = problems;
  }
}

type Segment = string | number;

function fieldName(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

/** The line of the deepest node that exists along `path` (the key's line for a missing or extra key). */
function lineOf(doc: Document, lc: LineCounter, path: readonly Segment[], extraKey?: string): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  const steps = extraKey === undefined ? path : [...path, extraKey];
  for (const seg of steps) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const keyNode = pair.key as Node;
      offset = keyNode.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return lc.linePos(offset).line;
}

function issueProblems(
  doc: Document,
  lc: LineCounter,
  base: Segment[],
  issues: readonly z.core.$ZodIssue[],
): TriggerProblem[] {
  const out: TriggerProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as Segment[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({
          line: lineOf(doc, lc, path, key),
          field: fieldName([...(issue.path as Segment[]), key]),
          message: `unknown field "${key}"`,
        });
      continue;
    }
    const message =
      issue.code === 'invalid_type' && issue.message.includes('received undefined') ? 'is required' : issue.message;
    out.push({ line: lineOf(doc, lc, path), field: fieldName(issue.path as Segment[]), message });
  }
  return out;
}

/** Parses and validates a trigger file's text. Throws TriggerFileError naming each problem's line and field. */
export function parseTriggers(text: string, source = 'triggers'): TriggerSpec[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new TriggerFileError(
      source,
      doc.errors.map((e) => ({ line: lc.linePos(e.pos[0]).line, field: '', message: e.message.split('\n')[0]! })),
    );
  }
  const raw: unknown = doc.toJS();
  let items: unknown[];
  let base: Segment[];
  if (Array.isArray(raw)) {
    items = raw;
    base = [];
  } else if (
    raw &&
    typeof raw === 'object' &&
    'triggers' in raw &&
    Array.isArray((raw as { triggers: unknown }).triggers) &&
    Object.keys(raw).length === 1
  ) {
    items = (raw as { triggers: unknown[] }).triggers;
    base = ['triggers'];
  } else if (raw && typeof raw === 'object') {
    items = [raw];
    base = [];
  } else
    throw new TriggerFileError(source, [
      {
        line: 1,
        field: '',
        message: 'expected a trigger (a mapping with name, when, then), a list of them, or { triggers: [...] }',
      },
    ]);
  if (items.length === 0)
    throw new TriggerFileError(source, [{ line: 1, field: '', message: 'no triggers in the file' }]);

  const out: TriggerSpec[] = [];
  const problems: TriggerProblem[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const at: Segment[] = Array.isArray(raw) || base.length ? [...base, i] : [];
    const r = triggerSpecSchema.safeParse(item);
    if (!r.success) {
      const ps = issueProblems(doc, lc, at, r.error.issues);
      const prefix = at.length ? `${fieldName([i])}` : '';
      problems.push(
        ...ps.map((p) => ({
          ...p,
          field: prefix ? (p.field ? `${prefix}.${p.field}`.replace('.[', '[') : prefix) : p.field,
        })),
      );
      return;
    }
    const first = seen.get(r.data.name);
    if (first !== undefined) {
      problems.push({
        line: lineOf(doc, lc, [...at, 'name']),
        field: at.length ? `[${i}].name` : 'name',
        message: `duplicate trigger name "${r.data.name}" (also at [${first}])`,
      });
      return;
    }
    seen.set(r.data.name, i);
    out.push(r.data);
  });
  if (problems.length)
    throw new TriggerFileError(
      source,
      problems.sort((a, b) => a.line - b.line),
    );
  return out;
}
