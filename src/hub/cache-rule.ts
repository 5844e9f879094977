/**
 * The communicator's per-message delivery options: `cache=no|reply|ttl=N` (a `;`-separated
 * list) and `transmission_report=failure|all`. Pure parsing; the router applies them.
 */
import type { JsonValue } from '../core/message.js';

export const DEFAULT_TTL_SECONDS = 60;
export const MIN_TTL_SECONDS = 10;
export const MAX_TTL_SECONDS = 86_400;

export interface CacheRule {
  /** Never keep the message for later. */
  noCache: boolean;
  /** Answer SERVICE_UNAVAILABLE when the message is neither delivered nor cached. */
  reply: boolean;
  ttlSeconds: number;
}

export const DEFAULT_RULE: CacheRule = Object.freeze({ noCache: false, reply: false, ttlSeconds: DEFAULT_TTL_SECONDS });

/** Returns the rule, or a sentence saying what is wrong with the value. */
export function parseCacheRule(value: JsonValue | undefined): CacheRule | string {
  if (value === undefined) return DEFAULT_RULE;
  if (typeof value !== 'string') return 'cache must be a text list such as "no;reply" or "ttl=300"';
  const rule: CacheRule = { noCache: false, reply: false, ttlSeconds: DEFAULT_TTL_SECONDS };
  for (const raw of value.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    if (part === 'no') rule.noCache = true;
    else if (part === 'reply') rule.reply = true;
    else if (part.startsWith('ttl=')) {
      const n = Number(part.slice(4));
      if (!Number.isInteger(n) || n < MIN_TTL_SECONDS || n > MAX_TTL_SECONDS) {
        return `cache ttl must be a whole number of seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} (got ${JSON.stringify(part.slice(4))})`;
      }
      rule.ttlSeconds = n;
    } else {
      return `cache accepts "no", "reply" and "ttl=SECONDS", separated by ";" (got ${JSON.stringify(part)})`;
    }
  }
  return rule;
}

export type ReportLevel = 'none' | 'failure' | 'all';

export function parseReportLevel(value: JsonValue | undefined): ReportLevel {
  if (value === undefined || value === null || value === '' || value === 'none' || value === false) return 'none';
  return value === 'failure' || value === 'failed' ? 'failure' : 'all';
}
