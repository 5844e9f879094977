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

const RULES = {
  command: 'a command is upper case A-Z, 0-9 and _, not starting with a digit (e.g. REGISTER)',
  parameter: 'a parameter name is A-Z, a-z, 0-9 and _, not starting with a digit (e.g. service)',
  server: 'a server name is A-Z, a-z, 0-9 and _, not starting with a digit, or one of "*", "?", "."',
  service: 'a service name is A-Z, a-z, 0-9 and _, not starting with a digit, optionally followed by #instance, or one of "*", "?", "."',
} as const;

/** The sentence for a name that broke its rule. */
export function badName(kind: keyof typeof RULES, value: string): string {
  const shown = value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}...` : JSON.stringify(value);
  return `${kind} ${shown} is not valid: ${RULES[kind]}`;
}
