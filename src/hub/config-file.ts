/**
 * Reads a hub configuration file: JSON (`{"local_listen": "..."}`) or the communicator's
 * `communicatord.conf` form (`key=value` lines, `#` comments, optional quotes). Keys may be
 * written `local_listen` or `local-listen`; values stay raw here and are checked by the schema.
 */
import { readFileSync } from 'node:fs';
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

export function readConfigFile(file: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SwitchboardError('INVALID_CONFIG', `cannot read the configuration file ${file}: ${errorMessage(err)}`);
  }
  return parseConfigText(text, file);
}
