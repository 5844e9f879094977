/** Versioned migrations per namespace, recorded in `schema_migrations` (same table on both backends). */
import { SwitchboardError, errorMessage } from '../core/errors.js';
import type { Db, Migration } from './types.js';

const NAMESPACE = /^[a-z][a-z0-9_-]*$/;

const CREATE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  namespace TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (namespace, version)
)`;

/**
 * Runs inside a transaction that the backend has already made exclusive (`lock`), so two
 * processes migrating at once apply each migration exactly once.
 */
export async function applyMigrations(
  tx: Db,
  lock: (tx: Db) => Promise<void>,
  namespace: string,
  migrations: readonly Migration[],
): Promise<number> {
  if (!NAMESPACE.test(namespace))
    throw new SwitchboardError(
      'INVALID_ARGUMENT',
      `migration namespace ${JSON.stringify(namespace)} must be lower-case letters, digits, - or _`,
    );
  await lock(tx);
  await tx.exec(CREATE);
  const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations WHERE namespace = ?', [
    namespace,
  ]);
  const applied = new Set(rows.map((r) => Number(r.version)));
  let count = 0;
  for (const [i, m] of migrations.entries()) {
    const version = i + 1;
    if (applied.has(version)) continue;
    try {
      if (typeof m.up === 'string') await tx.script(m.up);
      else await m.up(tx);
    } catch (err) {
      throw new SwitchboardError(
        'INTERNAL',
        `migration ${namespace} #${version} (${m.name}) failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    await tx.exec('INSERT INTO schema_migrations (namespace, version, name, applied_at) VALUES (?, ?, ?, ?)', [
      namespace,
      version,
      m.name,
      new Date().toISOString(),
    ]);
    count++;
  }
  return count;
}
