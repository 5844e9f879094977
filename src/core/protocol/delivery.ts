/**
 * The communicator's per-message delivery options, parsed once for the hub and the mesh:
 * `cache=no|reply|ttl=N` (a `;`-separated list) and `transmission_report=failure|all`.
 */
import type { JsonValue } from '../message.js';
import { fail, ok, type Result } from '../result.js';

export const DEFAULT_TTL_SECONDS = 60;
export const MIN_TTL_SECONDS = 10;
export const MAX_TTL_SECONDS = 86_400;

export interface CacheRule {
  /** Never keep the message for later. */
  readonly noCache: boolean;
  /** Answer SERVICE_UNAVAILABLE when the message is neither delivered nor cached. */
  readonly reply: boolean;
  readonly ttlSeconds: number;
}

export const DEFAULT_RULE: CacheRule = Object.freeze({ noCache: false, reply: false, ttlSeconds: DEFAULT_TTL_SECONDS });

/** The rule of a `cache=` value, or a sentence saying what is wrong with it. */
export function parseCacheRule(value: JsonValue | undefined): Result<CacheRule> {
  if (value === undefined) return ok(DEFAULT_RULE);
  if (typeof value !== 'string') return fail('cache must be a text list such as "no;reply" or "ttl=300"');
  let noCache = false;
  let reply = false;
  let ttlSeconds = DEFAULT_TTL_SECONDS;
  for (const raw of value.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    if (part === 'no') noCache = true;
    else if (part === 'reply') reply = true;
    else if (part.startsWith('ttl=')) {
      const n = Number(part.slice(4));
      if (!Number.isInteger(n) || n < MIN_TTL_SECONDS || n > MAX_TTL_SECONDS) {
        return fail(
          `cache ttl must be a whole number of seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} (got ${JSON.stringify(part.slice(4))})`,
        );
      }
      ttlSeconds = n;
    } else {
      return fail(`cache accepts "no", "reply" and "ttl=SECONDS", separated by ";" (got ${JSON.stringify(part)})`);
    }
  }
  return ok({ noCache, reply, ttlSeconds });
}

/**
 * The rule of a message that was checked where it entered (the hub that took it from a service
 * refused a bad `cache=` with INVALID): a bad value from elsewhere falls back to the default.
 */
export function cacheRuleOf(params: Readonly<Record<string, JsonValue>>): CacheRule {
  const value = params.cache;
  if (value === undefined) return DEFAULT_RULE;
  const r = parseCacheRule(value);
  return r.ok ? r.value : DEFAULT_RULE;
}

/** `transmission_report`: none, failures only, or every outcome (cached too). */
export type ReportLevel = 'none' | 'failure' | 'all';

/** Absent, empty, `none` or false: none; `failure` (or `failed`): failures; anything else: all. */
export function parseReportLevel(value: JsonValue | undefined): ReportLevel {
  if (value === undefined || value === null || value === '' || value === 'none' || value === false) return 'none';
  return value === 'failure' || value === 'failed' ? 'failure' : 'all';
}
