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
};

const COLUMNS = 'name, description, source, uri, install_command, update_command, command, installed_at, updated_at';

function fromRow(r: ConnectorRow): ConnectorRecord {
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
  };
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
  await db.exec(`INSERT INTO connectors (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    m.name,
    m.description,
    m.source,
    m.uri,
    m.install_command,
    m.update_command,
    m.command,
    now,
    now,
  ]);
  return getConnector(db, m.name);
}

export async function touchConnector(db: Db, name: string): Promise<void> {
  await db.exec('UPDATE connectors SET updated_at = ? WHERE name = ?', [new Date().toISOString(), name]);
}

export async function deleteConnector(db: Db, name: string): Promise<number> {
  return db.exec('DELETE FROM connectors WHERE name = ?', [name]);
}
