/**
 * The hub's admin token in a file only its user can read (mode 0600), as Jupyter keeps its
 * token: `switchboard start` writes it (or keeps the one already there), the CLI and the client
 * library read it by themselves when they run as that user. A file that others can read, or
 * that another user owns, is never used: its token may be known to someone else.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import { SwitchboardError, errorMessage } from '../core/errors.js';

/** Hub admin tokens start with this, so a leaked one is recognisable (secret scanners, logs). */
export const HUB_TOKEN_PREFIX = 'sbh_';

export function newToken(prefix = HUB_TOKEN_PREFIX): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Why a token file must not be trusted, or undefined when it is private to this user. */
export function tokenFileProblem(path: string, st: Stats): string | undefined {
  if (!st.isFile()) return `${path} is not a regular file`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    return `${path} belongs to user ${st.uid}, not to this user (${uid}): its token may be someone else's`;
  if ((st.mode & 0o077) !== 0)
    return `${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)}): its token may be known; make it private (chmod 600) or remove it`;
  return undefined;
}

export type TokenRead = { token: string } | { problem: string } | { absent: true };

/** Reads a private token file; says why when it cannot be used. Never throws. */
export function readTokenFile(path: string): TokenRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { absent: true };
    return { problem: `cannot read ${path}: ${code ?? errorMessage(err)}` };
  }
  try {
    const problem = tokenFileProblem(path, fstatSync(fd));
    if (problem) return { problem };
    const token = readFileSync(fd, 'utf8').trim();
    if (!isUsableToken(token)) return { problem: `${path} does not hold a token (printable characters, 16 to 512)` };
    return { token };
  } finally {
    closeSync(fd);
  }
}

/** A token travels in a text parameter and an HTTP header: printable ASCII without spaces, `;` or quotes. */
export function isUsableToken(token: string): boolean {
  return /^[\x21-\x7e]{16,512}$/.test(token) && !/[;"'\\]/.test(token);
}

export interface EnsuredToken {
  token: string;
  path: string;
  /** Written now (absent, or replaced because it was not private). */
  created: boolean;
  /** Why an existing file was replaced. */
  replaced?: string;
}

/**
 * The admin token of `path`: the one already there when the file is private to this user, else a
 * new one written with mode 0600 through a temporary file, so a reader never sees half a token
 * and the file is never readable by others, even for a moment. Two hubs starting at once in one
 * home end up with the same token: the file is created with link(), which fails for the second,
 * who then reads the first one's token.
 */
export function ensureTokenFile(path: string): EnsuredToken {
  const existing = readTokenFile(path);
  if ('token' in existing) return { token: existing.token, path, created: false };
  const token = newToken();
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    if ('problem' in existing) renameSync(tmp, path);
    else {
      try {
        linkSync(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const theirs = readTokenFile(path);
        if ('token' in theirs) return { token: theirs.token, path, created: false };
        renameSync(tmp, path);
      }
    }
  } catch (err) {
    throw new SwitchboardError(
      'INVALID_CONFIG',
      `cannot write the hub's admin token to ${path}: ${errorMessage(err)} (set token_file to a writable path, or "off")`,
      { cause: err },
    );
  } finally {
    rmSync(tmp, { force: true });
  }
  return { token, path, created: true, ...('problem' in existing ? { replaced: existing.problem } : {}) };
}
