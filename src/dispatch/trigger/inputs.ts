/** Resolves a trigger's inputs against an event: constants stay, `$ref` nodes read the event. */
import type { JsonValue } from '../../core/message.js';
import { getPath, splitPath } from './path.js';

/** The event as triggers see it: its envelope and its data. */
export interface EventEnvelope {
  id: string;
  key: string;
  connector: string;
  kind: string;
  /** ISO time the agent received it. */
  time: string;
  data: JsonValue;
}

/**
 * A reference that points at nothing resolves to null (and is listed in `missing`), so a task
 * always receives every input it was promised.
 */
export function resolveInputs(
  inputs: Record<string, JsonValue>,
  event: EventEnvelope,
  missing: string[] = [],
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = resolveValue(v, event, missing);
  return out;
}

function resolveValue(value: JsonValue, event: EventEnvelope, missing: string[]): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, event, missing));
  if ('$const' in value && Object.keys(value).length === 1) return value.$const ?? null;
  if (typeof value.$ref === 'string' && Object.keys(value).length === 1) {
    const [root, ...rest] = splitPath(value.$ref);
    let found: JsonValue | undefined;
    if (root === 'data') found = getPath(event.data, rest);
    else if (root === 'event' && rest.length === 1) {
      const f = rest[0] as keyof EventEnvelope;
      found = f === 'data' ? undefined : event[f];
    }
    if (found === undefined) {
      missing.push(value.$ref);
      return null;
    }
    return found;
  }
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolveValue(v, event, missing);
  return out;
}
