/** The `connectors` table: what is installed, from where, and how it starts. */
import { SwitchboardError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import type { Manifest } from './manifest.js';
import type { ConnectorRecord, SourceKind } from './types.js';

type ConnectorRow = {
  name: string;
  description: string;
  source: string;
  uri: string;
  install_command: string;
  update_command: string;
  command: string;
  installed_at: string;
  updated_at: string;
  manifest: string | null;
};

const COLUMNS =
  'name, description, source, uri, install_command, update_command, command, installed_at, updated_at, manifest';

/** The fields beyond c1-core's columns, kept as JSON in `connectors.manifest`. */
interface Extra {
  protocol?: ConnectorRecord['protocol'];
  options_schema?: Record<string, unknown> | null;
  env?: string[];
  timeout?: number | null;
  airbyte?: ConnectorRecord['airbyte'];
}

function extraOf(m: Manifest): Extra {
  return {
    protocol: m.protocol ?? 'go-plugin',
    options_schema: m.options_schema ?? null,
    env: m.env ?? [],
    timeout: m.timeout ?? null,
    airbyte: m.airbyte ?? null,
  };
}

function fromRow(r: ConnectorRow): ConnectorRecord {
  let extra: Extra = {};
  try {
    extra = r.manifest ? (JSON.parse(r.manifest) as Extra) : {};
  } catch {
    /* a hand-edited row: the c1-core columns still work */
  }
  return {
    name: r.name,
    description: r.description,
    source: r.source as SourceKind,
    uri: r.uri,
    installCommand: r.install_command,
    updateCommand: r.update_command,
    command: r.command,
    installedAt: r.installed_at,
    updatedAt: r.updated_at,
    protocol: extra.protocol === 'airbyte' ? 'airbyte' : 'go-plugin',
    optionsSchema: extra.options_schema ?? null,
    env: Array.isArray(extra.env) ? extra.env : [],
    timeoutMs: typeof extra.timeout === 'number' ? extra.timeout : null,
    airbyte: extra.airbyte ?? null,
  };
}

/** A manifest as the record it becomes (before it is stored: for spec at install time). */
export function recordOf(m: Manifest, now = new Date().toISOString()): ConnectorRecord {
  const e = extraOf(m);
  return fromRow({
    name: m.name,
    description: m.description,
    source: m.source,
    uri: m.uri,
    install_command: m.install_command,
    update_command: m.update_command,
    command: m.command,
    installed_at: now,
    updated_at: now,
    manifest: JSON.stringify(e),
  });
}

export function toManifest(c: ConnectorRecord): Manifest {
  return {
    name: c.name,
    description: c.description,
    source: c.source,
    uri: c.uri,
    install_command: c.installCommand,
    update_command: c.updateCommand,
    command: c.command,
    protocol: c.protocol,
    options_schema: c.optionsSchema,
    env: c.env,
    timeout: c.timeoutMs,
    airbyte: c.airbyte,
  };
}

export async function listConnectors(db: Db): Promise<ConnectorRecord[]> {
  return (await db.query<ConnectorRow>(`SELECT ${COLUMNS} FROM connectors ORDER BY name`)).map(fromRow);
}

export async function findConnector(db: Db, name: string): Promise<ConnectorRecord | undefined> {
  const [row] = await db.query<ConnectorRow>(`SELECT ${COLUMNS} FROM connectors WHERE name = ?`, [name]);
  return row ? fromRow(row) : undefined;
}

export async function getConnector(db: Db, name: string): Promise<ConnectorRecord> {
  const found = await findConnector(db, name);
  if (found) return found;
  const names = (await listConnectors(db)).map((c) => c.name);
  throw new SwitchboardError(
    'NOT_FOUND',
    `no connector named "${name}" is installed (${names.length ? `installed: ${names.join(', ')}` : 'none are; see `switchboard connector install --help`'})`,
  );
}

export async function insertConnector(db: Db, m: Manifest, now = new Date().toISOString()): Promise<ConnectorRecord> {
  await db.exec(`INSERT INTO connectors (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    m.name,
    m.description,
    m.source,
    m.uri,
    m.install_command,
    m.update_command,
    m.command,
    now,
    now,
    JSON.stringify(extraOf(m)),
  ]);
  return getConnector(db, m.name);
}

/** Replaces an installed connector's manifest (same name). */
export async function replaceConnector(db: Db, m: Manifest): Promise<ConnectorRecord> {
  const n = await db.exec(
    'UPDATE connectors SET description = ?, source = ?, uri = ?, install_command = ?, update_command = ?, command = ?, manifest = ?, updated_at = ? WHERE name = ?',
    [
      m.description,
      m.source,
      m.uri,
      m.install_command,
      m.update_command,
      m.command,
      JSON.stringify(extraOf(m)),
      new Date().toISOString(),
      m.name,
    ],
  );
  if (!n) return getConnector(db, m.name);
  return getConnector(db, m.name);
}

export async function touchConnector(db: Db, name: string): Promise<void> {
  await db.exec('UPDATE connectors SET updated_at = ? WHERE name = ?', [new Date().toISOString(), name]);
}

export async function deleteConnector(db: Db, name: string): Promise<number> {
  return db.exec('DELETE FROM connectors WHERE name = ?', [name]);
}
