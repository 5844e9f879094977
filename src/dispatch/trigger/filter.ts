/** Filter evaluation: pure functions over JSON event data. */
import type { JsonValue } from '../../core/message.js';
import { getPath, jsonEqual, splitPath } from './path.js';
import type { Filter, FilterOp } from './schema.js';

/** A filter prepared once (path split, regex compiled) and evaluated many times. */
export interface CompiledFilter {
  readonly path: string;
  readonly segments: readonly string[];
  readonly op: FilterOp;
  readonly value: JsonValue | undefined;
  test(data: JsonValue | undefined): boolean;
}

function compare(actual: JsonValue | undefined, expected: JsonValue | undefined): number | undefined {
  if (typeof actual === 'number' && typeof expected === 'number') return actual - expected;
  if (typeof actual === 'string' && typeof expected === 'string')
    return actual < expected ? -1 : actual > expected ? 1 : 0;
  return undefined; // different or unordered types never satisfy gt/gte/lt/lte
}

export function compileFilter(filter: Filter): CompiledFilter {
  const segments = splitPath(filter.path);
  const expected = filter.value;
  let check: (actual: JsonValue | undefined) => boolean;
  switch (filter.op) {
    case 'eq':
      check = (a) => jsonEqual(a, expected);
      break;
    case 'ne':
      check = (a) => !jsonEqual(a, expected);
      break;
    case 'gt':
      check = (a) => {
        const c = compare(a, expected);
        return c !== undefined && c > 0;
      };
      break;
    case 'gte':
      check = (a) => {
        const c = compare(a, expected);
        return c !== undefined && c >= 0;
      };
      break;
    case 'lt':
      check = (a) => {
        const c = compare(a, expected);
        return c !== undefined && c < 0;
      };
      break;
    case 'lte':
      check = (a) => {
        const c = compare(a, expected);
        return c !== undefined && c <= 0;
      };
      break;
    case 'in': {
      const list = Array.isArray(expected) ? expected : [];
      check = (a) => a !== undefined && list.some((v) => jsonEqual(a, v));
      break;
    }
    case 'include':
      check = (a) =>
        Array.isArray(a)
          ? a.some((v) => jsonEqual(v, expected))
          : typeof a === 'string' && typeof expected === 'string' && a.includes(expected);
      break;
    case 'exists': {
      const want = expected !== false;
      check = (a) => (a !== undefined) === want;
      break;
    }
    case 'regex': {
      const re = new RegExp(typeof expected === 'string' ? expected : '(?!)');
      check = (a) => typeof a === 'string' && re.test(a);
      break;
    }
  }
  return {
    path: filter.path,
    segments,
    op: filter.op,
    value: expected,
    test: (data) => check(getPath(data, segments)),
  };
}
