/**
 * Event and execution ids: UUIDs of version 7 (RFC 9562), the first 48 bits the time in ms, the
 * rest random. They are primary keys of the log's tables, and keys that grow with time land
 * at the right edge of the B-tree: a batch dirties a few pages instead of one page per row spread
 * over the whole table (which made every commit write most of the index again).
 */
import { randomUUID } from 'node:crypto';

export function timeOrderedId(now = Date.now()): string {
  const r = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keep its random bits and variant
  const t = now.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(15)}`;
}
