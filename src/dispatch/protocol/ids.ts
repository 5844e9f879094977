/**
 * Event and execution ids: UUIDs of version 7 (RFC 9562), the first 48 bits the time in ms, the
 * rest random. They are primary keys of the log's tables, and keys that grow with time land
 * at the right edge of the B-tree: a batch dirties a few pages instead of one page per row spread
 * over the whole table (which made every commit write most of the index again).
 */
import { randomUUID } from 'node:crypto';

let lastMs = -1;
let lastPrefix = '';

export function timeOrderedId(now = Date.now()): string {
  // The time part changes once a millisecond; ids come in bursts, so it is made once per burst.
  if (now !== lastMs) {
    const t = now.toString(16).padStart(12, '0');
    lastPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
    lastMs = now;
  }
  // randomUUID(): xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx; its random bits and variant stay.
  return lastPrefix + randomUUID().slice(15);
}

/**
 * The id a task carries: the execution's id for its first try, `<id>#<n>` for try n, so a result
 * names the try it answers (a late result of a try that timed out does not finish the next one)
 * and an agent, which runs a task id once, runs every try.
 */
export function taskId(executionId: string, attempt: number): string {
  return attempt <= 1 ? executionId : `${executionId}#${attempt}`;
}

export function parseTaskId(id: string): { executionId: string; attempt: number } {
  const i = id.lastIndexOf('#');
  if (i > 0 && /^[1-9]\d{0,5}$/.test(id.slice(i + 1)))
    return { executionId: id.slice(0, i), attempt: Number(id.slice(i + 1)) };
  return { executionId: id, attempt: 1 };
}
