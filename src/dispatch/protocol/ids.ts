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
