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

/** Largest trigger file (or dashboard text) read, in bytes. */
export const MAX_TRIGGER_FILE_BYTES = 1024 * 1024;
/** Most triggers one file may hold. */
export const MAX_TRIGGERS_PER_FILE = 10_000;
/** YAML aliases (`*name`) one file may expand: a few alias nodes can otherwise build a huge value ("billion laughs"). */
const MAX_ALIASES = 100;
const MAX_PROBLEMS_SHOWN = 20;

export interface TriggerProblem {
  line: number;
  field: string;
  message: string;
}

export class TriggerFileError extends InvalidArgumentError {
  readonly problems: TriggerProblem[];
  constructor(source: string, all: TriggerProblem[]) {
    // A broken file can have thousands of problems: the first ones say enough.
    const problems = all.slice(0, MAX_PROBLEMS_SHOWN);
    const more = all.length - problems.length;
    super(
      `${source} has ${all.length === 1 ? 'a problem' : `${all.length} problems`}:\n` +
        problems.map((p) => `  ${source}:${p.line}: ${p.field ? `${p.field}: ` : ''}${p.message}`).join('\n') +
        (more > 0 ? `\n  ... and ${more} more` : ''),
      { data: { problems, ...(more > 0 ? { more } : {}) } },
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
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TRIGGER_FILE_BYTES)
    throw new TriggerFileError(source, [
      {
        line: 1,
        field: '',
        message: `the file is ${bytes} bytes; trigger files are limited to ${MAX_TRIGGER_FILE_BYTES} bytes (split it)`,
      },
    ]);
  const lc = new LineCounter();
  let doc: Document;
  let raw: unknown;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      throw new TriggerFileError(
        source,
        doc.errors.map((e) => ({ line: lc.linePos(e.pos[0]).line, field: '', message: e.message.split('\n')[0]! })),
      );
    }
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    if (err instanceof TriggerFileError) throw err;
    // The parser's own refusals (an alias bomb, nesting deeper than the stack) are the file's problem.
    const why =
      err instanceof RangeError
        ? 'the document is nested too deeply'
        : /alias/i.test(String((err as Error).message))
          ? `the document expands more than ${MAX_ALIASES} aliases (a YAML alias bomb?)`
          : `the document cannot be read: ${(err as Error).message}`;
    throw new TriggerFileError(source, [{ line: 1, field: '', message: why }]);
  }
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
  if (items.length > MAX_TRIGGERS_PER_FILE)
    throw new TriggerFileError(source, [
      {
        line: 1,
        field: '',
        message: `the file holds ${items.length} triggers; at most ${MAX_TRIGGERS_PER_FILE} per file`,
      },
    ]);

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
