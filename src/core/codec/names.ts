/**
 * The communicator's name rules, as char-code loops (they run for every decoded message):
 * parameter names `[A-Za-z_][A-Za-z0-9_]*`, commands `[A-Z_][A-Z0-9_]*`, server and service
 * names like parameter names or empty, plus the broadcast names `*`, `?`, `.`; a service may
 * carry an instance suffix `name#instance` (`[A-Za-z0-9_]+`), which Switchboard adds.
 */

function isWordCode(c: number, lowercase: boolean): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || (lowercase && c >= 97 && c <= 122);
}

function isWord(s: string, from: number, to: number, lowercase: boolean): boolean {
  if (from >= to) return false;
  const first = s.charCodeAt(from);
  if (first >= 48 && first <= 57) return false;
  for (let i = from; i < to; i++) if (!isWordCode(s.charCodeAt(i), lowercase)) return false;
  return true;
}

function isBroadcastName(s: string): boolean {
  return s.length === 1 && (s === '*' || s === '?' || s === '.');
}

export function isParamName(s: string): boolean {
  return isWord(s, 0, s.length, true);
}

export function isCommandName(s: string): boolean {
  return isWord(s, 0, s.length, false);
}

/** `''`, `.`, `*`, `?` or a name. */
export function isServerName(s: string): boolean {
  return s.length === 0 || isBroadcastName(s) || isWord(s, 0, s.length, true);
}

/** `''`, `.`, `*`, `?`, a name, or `name#instance`. */
export function isServiceName(s: string): boolean {
  if (s.length === 0 || isBroadcastName(s)) return true;
  const hash = s.indexOf('#');
  if (hash === -1) return isWord(s, 0, s.length, true);
  if (!isWord(s, 0, hash, true) || hash === s.length - 1) return false;
  for (let i = hash + 1; i < s.length; i++) if (!isWordCode(s.charCodeAt(i), true)) return false;
  return true;
}

/**
 * Names read from lines, remembered per kind: a name seen before is neither sliced out of the line
 * again nor re-checked, and the decoded message carries the same string object every time (its
 * hash is computed once, so map lookups on commands and service names stay cheap). A small
 * direct-mapped table: a colliding name just replaces the slot. Only names that passed their
 * kind's check are stored, so a hit is a valid name.
 */
export class NameCache {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(256).fill(undefined);

  constructor(private readonly valid: (s: string) => boolean) {}

  /** Whether `name` is valid; a name that passed before is found without re-checking (encoders). */
  check(name: string): boolean {
    const len = name.length;
    if (len === 0 || len > 64) return this.valid(name);
    const slot = (len * 31 + name.charCodeAt(0) * 7 + name.charCodeAt(len - 1)) & 255;
    if (this.slots[slot] === name) return true;
    if (!this.valid(name)) return false;
    this.slots[slot] = name.length < 13 ? name : Buffer.from(name, 'latin1').toString('latin1');
    return true;
  }

  /** The name `line[from, to)` when valid, else undefined (the caller reports the error). */
  read(line: string, from: number, to: number): string | undefined {
    const len = to - from;
    if (len <= 0 || len > 64) {
      const s = line.slice(from, to);
      return this.valid(s) ? s : undefined;
    }
    const slot = (len * 31 + line.charCodeAt(from) * 7 + line.charCodeAt(to - 1)) & 255;
    const known = this.slots[slot];
    if (known !== undefined && known.length === len && line.startsWith(known, from)) return known;
    const s = line.slice(from, to);
    if (!this.valid(s)) return undefined;
    // A copy: a slice can keep its whole line alive, and the table outlives the line. Valid names are ASCII.
    const own = Buffer.from(s, 'latin1').toString('latin1');
    this.slots[slot] = own;
    return own;
  }
}

/** Shared caches, one per kind (decoders read through them, encoders check through them). */
export const knownServers = new NameCache(isServerName);
export const knownServices = new NameCache(isServiceName);
export const knownCommands = new NameCache(isCommandName);
export const knownParams = new NameCache(isParamName);

const RULES = {
  command: 'a command is upper case A-Z, 0-9 and _, not starting with a digit (e.g. REGISTER)',
  parameter: 'a parameter name is A-Z, a-z, 0-9 and _, not starting with a digit (e.g. service)',
  server: 'a server name is A-Z, a-z, 0-9 and _, not starting with a digit, or one of "*", "?", "."',
  service:
    'a service name is A-Z, a-z, 0-9 and _, not starting with a digit, optionally followed by #instance, or one of "*", "?", "."',
} as const;

/** The sentence for a name that broke its rule. */
export function badName(kind: keyof typeof RULES, value: string): string {
  const shown = value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}...` : JSON.stringify(value);
  return `${kind} ${shown} is not valid: ${RULES[kind]}`;
}
