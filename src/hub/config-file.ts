/**
 * Reads a hub configuration file: JSON (`{"local_listen": "..."}`) or the communicator's
 * `communicatord.conf` form (`key=value` lines, `#` comments, optional quotes). Keys may be
 * written `local_listen` or `local-listen`; values stay raw here and are checked by the schema.
 * Like the communicator, a file is followed by its override folder: `<name>.d/*.conf` beside it
 * (and `communicator.d/*.conf` beside a `communicatord.conf`), merged in file name order.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { parseJsonText } from '../core/json-text.js';

export type RawConfig = Record<string, unknown>;

export function normaliseKey(key: string): string {
  const k = key.trim();
  // `identity.NAME.field` / `role.NAME.field`: the NAME part is kept as written.
  const dotted = /^([A-Za-z_-]+)\.([^.]+)\.([A-Za-z_-]+)$/.exec(k);
  if (dotted) return `${norm(dotted[1]!)}.${dotted[2]}.${norm(dotted[3]!)}`;
  return norm(k);
}

function norm(key: string): string {
  return key.replaceAll('-', '_').toLowerCase();
}

/** Parses the `key=value` form; throws with the line number of the first bad line. */
export function parseConfText(text: string, file: string): RawConfig {
  const out: RawConfig = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[') && line.endsWith(']')) continue; // sections carry no meaning for the hub
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `${file}:${i + 1}: expected "key=value" (or a # comment); the line is not quoted here, the file may hold secrets`,
      );
    let value = line.slice(eq + 1).trim();
    if (
      value.length >= 2 &&
      ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
    )
      value = value.slice(1, -1);
    out[normaliseKey(line.slice(0, eq))] = value;
  }
  return out;
}

export function parseConfigText(text: string, file: string): RawConfig {
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = parseJsonText(text, file);
    } catch (err) {
      throw new SwitchboardError('INVALID_CONFIG', errorMessage(err));
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `${file}: a JSON configuration must be an object of keys such as "local_listen"`,
      );
    }
    const out: RawConfig = {};
    for (const [k, v] of Object.entries(parsed)) out[normaliseKey(k)] = v;
    return out;
  }
  return parseConfText(text, file);
}

/** Override files are small; a larger one is a mistake (a log, a binary), not a configuration. */
const MAX_CONFIG_BYTES = 1 << 20;

export function readConfigFile(file: string): RawConfig {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES)
      throw new Error(`it is ${size} bytes, more than a configuration file's ${MAX_CONFIG_BYTES}`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SwitchboardError('INVALID_CONFIG', `cannot read the configuration file ${file}: ${errorMessage(err)}`);
  }
  return parseConfigText(text, file);
}

/** The override folders of `file`, in the order they are read. */
export function overrideFolders(file: string): string[] {
  const dir = dirname(file);
  const name = basename(file);
  const stem = name.endsWith('.conf') || name.endsWith('.json') ? name.slice(0, -5) : name;
  const folders = [join(dir, `${stem}.d`)];
  // The communicator's layout: /etc/communicator/communicatord.conf + /etc/communicator/communicator.d/
  if (name === 'communicatord.conf') folders.unshift(join(dir, 'communicator.d'));
  return folders;
}

function confFilesIn(folder: string): string[] {
  let entries: string[];
  try {
    if (!statSync(folder).isDirectory()) return [];
    entries = readdirSync(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SwitchboardError('INVALID_CONFIG', `cannot read the override folder ${folder}: ${errorMessage(err)}`);
  }
  // Code-unit order, so `10-a.conf` < `50-b.conf` < `90-c.conf` on every machine.
  return entries
    .filter((f) => f.endsWith('.conf') && !f.startsWith('.'))
    .sort()
    .map((f) => join(folder, f));
}

export interface ConfigLayer {
  file: string;
  values: RawConfig;
}

/** The file, then each override file in order; a later layer wins key by key. */
export function readConfigLayers(file: string): ConfigLayer[] {
  const layers: ConfigLayer[] = [{ file, values: readConfigFile(file) }];
  for (const folder of overrideFolders(file))
    for (const f of confFilesIn(folder)) layers.push({ file: f, values: readConfigFile(f) });
  return layers;
}
