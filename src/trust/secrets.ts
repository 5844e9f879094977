/**
 * Secrets come from files or environment variables, never from the command line: every user on
 * the machine reads other processes' arguments (`ps`, /proc/PID/cmdline) and shells keep them in
 * their history. A flag that would carry one is refused with the sentence that says what to do.
 */
import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';

/**
 * A secret read from a file: its content, trimmed (one trailing newline is what `echo` writes).
 * An unreadable or empty file is an INVALID_CONFIG error naming `what` and the path, never the
 * content. `warn` hears about a file other users can read.
 */
export function readSecretFile(path: string, what: string, warn?: (message: string) => void): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
      { cause: err },
    );
  }
  const secret = text.trim();
  if (secret === '' || secret.includes('\n'))
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `${what}: ${path} must hold the secret alone on one line (it is ${secret === '' ? 'empty' : 'several lines'})`,
    );
  if (warn) {
    try {
      const mode = statSync(path).mode & 0o777;
      if ((mode & 0o007) !== 0)
        warn(`${what}: ${path} can be read by every user (mode ${mode.toString(8)}); chmod 600 it`);
    } catch {
      // read just now; a vanished file changes nothing about the secret already read
    }
  }
  return secret;
}

/**
 * The sentence for a secret given as a command-line flag (`--http-token`, `--signal-secret`):
 * refused, with the file flag and the environment variable that carry it instead.
 */
export function secretFlagRefused(flag: string, fileFlag: string, envVar: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `${flag} would show the secret to every user of this machine (ps, /proc) and keep it in your shell history: ` +
      `put it in a file only you can read and give ${fileFlag} FILE, or set ${envVar}`,
  );
}

/** Object fields and message parameters whose value is a credential, whatever it looks like. */
const SECRET_FIELDS = new Set(['token', 'password', 'secret', 'secret_code']);

/**
 * Tokens Switchboard issues, recognisable by their prefix: agents' `sbt_...`, the hub's admin
 * `sbh_...`. Not after a letter or digit, but after `_` too (`key_sbt_...`, where `\b` would not match).
 */
const ISSUED_TOKEN = /(?<![A-Za-z0-9])(sb[th]_)[A-Za-z0-9_-]+/g;

/** `"token":"..."` in text that is not JSON as a whole (a JSON text is masked field by field). */
const SECRET_JSON_FIELD = /("(?:token|password|secret|secret_code)"\s*:\s*")(?:[^"\\]|\\.)*"/gi;

/** A string with Switchboard's tokens and JSON credential fields shown as `***`. */
export function redactSecretText(text: string): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      const masked = redact(parsed, 0);
      // Unchanged JSON keeps its own spelling: a watcher sees the body as it was sent.
      return masked === parsed ? text : JSON.stringify(masked);
    } catch {
      // not JSON after all: the patterns below
    }
  }
  return text.replace(ISSUED_TOKEN, '$1***').replace(SECRET_JSON_FIELD, '$1***"');
}

/**
 * `value` as a log may show it: fields named token, password, secret or secret_code as `***` at
 * any depth, and issued tokens (`sbt_...`, `sbh_...`) and JSON credential fields inside strings
 * masked too (a message body often carries JSON as text).
 */
export function redactSecrets<T>(value: T): T {
  return redact(value, 0) as T;
}

/** `value` itself when nothing in it is a secret (no copy on the common path), else a masked copy. */
function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecretText(value);
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((v: unknown, i) => {
      const r = redact(v, depth + 1);
      if (r !== v) (out ??= [...value])[i] = r;
    });
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const r = SECRET_FIELDS.has(k.toLowerCase()) && v !== null && v !== undefined ? '***' : redact(v, depth + 1);
    if (r !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = r;
  }
  return out ?? value;
}

/**
 * The warning for a URL given on the command line with a password in it (`--amqp
 * amqp://user:PW@host`), or undefined when it carries none. `instead` says where the URL belongs
 * (an environment variable or a file option). The password itself is never part of the sentence.
 */
export function urlPasswordWarning(flag: string, value: string, instead: string): string | undefined {
  // A list of URLs (`--neighbors a,b`) is checked URL by URL.
  for (const part of value.split(',')) {
    let password = '';
    try {
      password = new URL(part.trim()).password;
    } catch {
      continue; // not a URL: whoever reads the flag says so
    }
    if (password)
      return `the password in ${flag} is visible to every user of this machine (ps, /proc) and stays in your shell history; ${instead}`;
  }
  return undefined;
}
