/**
 * Tells a store error that says "try again later" (the database is unreachable, busy, shutting
 * down, a deadlock or serialization conflict) from one a statement's data caused (a value the
 * database refuses). Callers retry the first kind as it comes and count the second against the
 * input, so an outage never sets good input aside and bad input never loops forever.
 */
const PG_TRANSIENT_CLASSES = ['08', '53', '57', '58'];
const PG_TRANSIENT_CODES = new Set(['40001', '40P01', '55P03']);
const NODE_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

export function isTransientStoreError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const message = err instanceof Error ? err.message : '';
    // pg's pool and client say these in words, without a code.
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the store is closed/i.test(
      message,
    );
  }
  if (NODE_NETWORK.has(code)) return true;
  if (code.startsWith('SQLITE_')) return /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM)/.test(code);
  if (code.length === 5) return PG_TRANSIENT_CODES.has(code) || PG_TRANSIENT_CLASSES.includes(code.slice(0, 2));
  return false;
}
