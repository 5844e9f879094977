/**
 * Reads a hub configuration file: JSON (`{"local_listen": "..."}`) or the communicator's
 * `communicatord.conf` form (`key=value` lines, `#` comments, optional quotes). Keys may be
 * written `local_listen` or `local-listen`; values stay raw here and are checked by the schema.
 */
import { readFileSync } from 'node:fs';
import { SwitchboardError, errorMessage } from '../core/errors.js';

export type RawConfig = Record<string, unknown>;

export function normaliseKey(key: string): string {
  return key.trim().replaceAll('-', '_').toLowerCase();
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
        `${file}:${i + 1}: expected "key=value", got ${JSON.stringify(line.slice(0, 80))}`,
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
      parsed = JSON.parse(text);
    } catch (err) {
      throw new SwitchboardError('INVALID_CONFIG', `${file}: not valid JSON: ${errorMessage(err)}`);
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
