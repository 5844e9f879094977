/**
 * Connector manifests (c1-core's format), validated with zod. A manifest arrives as raw JSON, a
 * URL to GET, or a local path (a file, or a folder holding `manifest.json`); errors name the field.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseJsonText } from '../core/json-text.js';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import type { SourceKind } from './types.js';

/** Connector names become folder names: keep them plain. */
export const CONNECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME_RULE = 'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters';

const requiredString = (what: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? 'is required' : `must be a string (${what})`) });
const optionalString = z.string({ error: 'must be a string' }).optional();

export const SOURCES: readonly SourceKind[] = ['HTTP', 'VCS', 'Local'];

export const ManifestSchema = z.object(
  {
    name: z
      .string({ error: 'must be a string' })
      .regex(CONNECTOR_NAME, { error: `must be ${NAME_RULE}` })
      .optional(),
    description: optionalString,
    source: z.enum(['HTTP', 'VCS', 'Local'], {
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : `must be one of HTTP, VCS or Local (got ${JSON.stringify(iss.input)})`,
    }),
    uri: requiredString('where the connector comes from').min(1, { error: 'must not be empty' }),
    install_command: optionalString,
    update_command: optionalString,
    command: requiredString('the command that starts the connector').min(1, { error: 'must not be empty' }),
  },
  { error: 'a manifest must be a JSON object' },
);

export interface Manifest {
  name: string;
  description: string;
  source: SourceKind;
  uri: string;
  install_command: string;
  update_command: string;
  command: string;
}

/** Where a manifest came from; relative `Local` URIs are resolved against `baseDir`. */
export interface ManifestInput {
  value: unknown;
  origin: string;
  baseDir: string | undefined;
}

/**
 * Validates a parsed manifest. `nameOverride` (the `--name` flag) replaces or supplies the name.
 * `Local` URIs become absolute so updates work from anywhere.
 */
export function validateManifest(
  value: unknown,
  opts: { nameOverride?: string; baseDir?: string; origin?: string } = {},
): Manifest {
  const origin = opts.origin ? ` (${opts.origin})` : '';
  const parsed = ManifestSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.path.length ? `field "${i.path.join('.')}" ${i.message}` : i.message,
    );
    throw new InvalidArgumentError(`invalid connector manifest${origin}: ${problems.join('; ')}`, {
      data: { fields: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  const m = parsed.data;
  const name = opts.nameOverride ?? m.name;
  if (name === undefined)
    throw new InvalidArgumentError(`invalid connector manifest${origin}: field "name" is required (or give --name)`, {
      data: { fields: ['name'] },
    });
  if (!CONNECTOR_NAME.test(name))
    throw new InvalidArgumentError(`connector name ${JSON.stringify(name)} must be ${NAME_RULE}`);
  let uri = m.uri;
  if (m.source === 'Local' && !isAbsolute(uri)) uri = resolve(opts.baseDir ?? process.cwd(), uri);
  return {
    name,
    description: m.description ?? '',
    source: m.source,
    uri,
    install_command: m.install_command ?? '',
    update_command: m.update_command ?? '',
    command: m.command,
  };
}

/** A manifest that is not JSON is named by where it is wrong, never quoted: the path may be any file the daemon can read. */
function parseJson(text: string, origin: string): unknown {
  return parseJsonText(text, `the manifest from ${origin}`);
}

/** Turns the `install` argument into a parsed manifest: raw JSON, an http(s) URL, or a path. */
export async function readManifestInput(arg: string): Promise<ManifestInput> {
  const text = arg.trim();
  if (text.startsWith('{'))
    return { value: parseJson(text, 'the command line'), origin: 'the command line', baseDir: undefined };
  if (/^https?:\/\//i.test(text)) {
    let res: Response;
    try {
      res = await fetch(text, { signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new SwitchboardError(
        'UNAVAILABLE',
        `cannot fetch the manifest at ${text}: ${errorMessage(err instanceof Error && err.cause ? err.cause : err)}`,
        { cause: err, retryable: true },
      );
    }
    if (!res.ok)
      throw new SwitchboardError(
        'NOT_FOUND',
        `fetching the manifest at ${text} answered HTTP ${res.status} ${res.statusText}`,
      );
    return { value: parseJson(await res.text(), text), origin: text, baseDir: undefined };
  }
  let path = resolve(text);
  const st = await stat(path).catch(() => undefined);
  if (!st)
    throw new InvalidArgumentError(
      `${JSON.stringify(arg)} is not a JSON manifest, not an http(s) URL, and no file exists at ${path}`,
    );
  if (st.isDirectory()) path = join(path, 'manifest.json');
  const body = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(
      `cannot read the manifest ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
    );
  });
  return { value: parseJson(body, path), origin: path, baseDir: dirname(path) };
}
