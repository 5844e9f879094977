/**
 * Connector manifests (c1-core's format), validated with zod. A manifest arrives as raw JSON, a
 * URL to GET, or a local path (a file, or a folder holding `manifest.json`); errors name the field.
 */
import { open, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseJsonText } from '../core/json-text.js';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import { parseDuration } from './duration.js';
import { checkSchema } from './options-schema.js';
import type { AirbyteSettings, ConnectorProtocol, SourceKind } from './types.js';

/** Largest manifest read from a file, a URL or the command line. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/**
 * Names a manifest's `env` may never ask for: the hub's own settings and secrets (its token, the
 * database and broker URLs with their passwords) and what the host sets itself.
 */
const RESERVED_ENV = /^(SWITCHBOARD_|PLUGIN_|BASIC_PLUGIN$|NODE_OPTIONS$|LD_|DYLD_)/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

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
    protocol: z.enum(['go-plugin', 'airbyte'], { error: 'must be "go-plugin" (default) or "airbyte"' }).optional(),
    options_schema: z.record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' }).optional(),
    env: z
      .array(
        z
          .string()
          .regex(ENV_NAME, { error: 'must be environment variable names' })
          .refine((n) => !RESERVED_ENV.test(n), {
            error: (iss) =>
              `may not ask for ${String(iss.input)} (the hub's own settings and secrets stay with the hub)`,
          }),
        { error: 'must be a list of environment variable names' },
      )
      .max(100)
      .optional(),
    timeout: z
      .union([z.string(), z.number().positive()], { error: 'must be a duration such as "2h" or seconds' })
      .optional(),
    airbyte: z
      .object(
        {
          streams: z.array(z.string().min(1)).min(1).optional(),
          remote_id: z.union([z.string().min(1), z.record(z.string(), z.string().min(1))]).optional(),
        },
        { error: 'must be an object: { "streams": [...], "remote_id": "field" }' },
      )
      .strict()
      .optional(),
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
  /** Issue 16's fields; absent in a c1-core manifest (validateManifest always fills them). */
  protocol?: ConnectorProtocol;
  options_schema?: Record<string, unknown> | null;
  env?: string[];
  /** Milliseconds; null: the default. */
  timeout?: number | null;
  airbyte?: AirbyteSettings | null;
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
  if (m.source !== 'Local' && uri.startsWith('-'))
    throw new InvalidArgumentError(`invalid connector manifest${origin}: field "uri" must not start with "-"`, {
      data: { fields: ['uri'] },
    });
  let timeout: number | null = null;
  if (m.timeout !== undefined)
    timeout =
      typeof m.timeout === 'number'
        ? Math.round(m.timeout * 1000)
        : parseDuration(m.timeout, `field "timeout"${origin}`);
  if (m.options_schema) {
    const problem = checkSchema(m.options_schema);
    if (problem)
      throw new InvalidArgumentError(`invalid connector manifest${origin}: field "options_schema" ${problem}`, {
        data: { fields: ['options_schema'] },
      });
  }
  if (m.airbyte && m.protocol !== 'airbyte')
    throw new InvalidArgumentError(`invalid connector manifest${origin}: field "airbyte" needs "protocol": "airbyte"`, {
      data: { fields: ['airbyte'] },
    });
  const airbyte: AirbyteSettings | null =
    m.protocol === 'airbyte'
      ? {
          ...(m.airbyte?.streams ? { streams: m.airbyte.streams } : {}),
          ...(m.airbyte?.remote_id ? { remoteId: m.airbyte.remote_id } : {}),
        }
      : null;
  return {
    name,
    description: m.description ?? '',
    source: m.source,
    uri,
    install_command: m.install_command ?? '',
    update_command: m.update_command ?? '',
    command: m.command,
    protocol: m.protocol ?? 'go-plugin',
    options_schema: m.options_schema ?? null,
    env: m.env ?? [],
    timeout,
    airbyte,
  };
}

/** The manifest as JSON, in the fields a manifest file uses (what `connector edit` shows). */
export function manifestJson(m: Manifest): Record<string, unknown> {
  return {
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    source: m.source,
    uri: m.uri,
    ...(m.install_command ? { install_command: m.install_command } : {}),
    ...(m.update_command ? { update_command: m.update_command } : {}),
    command: m.command,
    ...(m.protocol && m.protocol !== 'go-plugin' ? { protocol: m.protocol } : {}),
    ...(m.options_schema ? { options_schema: m.options_schema } : {}),
    ...(m.env?.length ? { env: m.env } : {}),
    ...(m.timeout ? { timeout: m.timeout / 1000 } : {}),
    ...(m.airbyte && (m.airbyte.streams || m.airbyte.remoteId)
      ? {
          airbyte: {
            ...(m.airbyte.streams ? { streams: m.airbyte.streams } : {}),
            ...(m.airbyte.remoteId ? { remote_id: m.airbyte.remoteId } : {}),
          },
        }
      : {}),
  };
}

/**
 * A manifest's text as JSON or YAML. Errors say where the text broke, never what it holds (the
 * path may name a file that is not a manifest at all, e.g. one with secrets). YAML aliases are
 * capped, so an alias bomb is refused instead of expanded.
 */
export function parseManifestText(text: string, origin: string, yaml: boolean): unknown {
  if (Buffer.byteLength(text, 'utf8') > MAX_MANIFEST_BYTES)
    throw new InvalidArgumentError(`the manifest from ${origin} is over ${MAX_MANIFEST_BYTES / 1024} KiB`);
  if (!yaml) {
    return parseJsonText(text, `the manifest from ${origin}`);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    throw new InvalidArgumentError(
      `the manifest from ${origin} is not valid YAML${first.linePos ? ` (line ${first.linePos[0].line})` : ''}: ${first.code}`,
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 50 }) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(
      `the manifest from ${origin} was refused: ${/alias/i.test(errorMessage(err)) ? 'too many YAML aliases (an alias bomb?)' : 'it could not be read as YAML'}`,
    );
  }
}

const isYamlName = (name: string) => ['.yaml', '.yml'].includes(extname(name).toLowerCase());

/** Reads at most `max` bytes of a file; more is refused. */
async function readBounded(path: string, max: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await file.read(buf, size, buf.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > max)
        throw new InvalidArgumentError(`the manifest ${path} is over ${max / 1024} KiB; is it a manifest?`);
    }
    return buf.subarray(0, size).toString('utf8');
  } finally {
    await file.close();
  }
}

/** Turns the `install` argument into a parsed manifest: raw JSON, an http(s) URL, or a path. */
export async function readManifestInput(arg: string): Promise<ManifestInput> {
  const text = arg.trim();
  if (text.startsWith('{'))
    return {
      value: parseManifestText(text, 'the command line', false),
      origin: 'the command line',
      baseDir: undefined,
    };
  // Several lines: a manifest's text (YAML, or JSON), as the dashboard's form sends it.
  if (text.includes('\n'))
    return { value: parseManifestText(text, 'the text given', true), origin: 'the text given', baseDir: undefined };
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
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_MANIFEST_BYTES)
      throw new InvalidArgumentError(`the manifest at ${text} is over ${MAX_MANIFEST_BYTES / 1024} KiB`);
    const body = await readBody(res, text);
    const yaml = isYamlName(new URL(text).pathname) || /yaml/i.test(res.headers.get('content-type') ?? '');
    return {
      value: parseManifestText(body, text, yaml && !body.trimStart().startsWith('{')),
      origin: text,
      baseDir: undefined,
    };
  }
  let path = resolve(text);
  const st = await stat(path).catch(() => undefined);
  if (!st)
    throw new InvalidArgumentError(
      `${JSON.stringify(arg)} is not a JSON manifest, not an http(s) URL, and no file exists at ${path}`,
    );
  if (st.isDirectory()) {
    const candidates = ['manifest.json', 'manifest.yaml', 'manifest.yml'].map((f) => join(path, f));
    const found = [];
    for (const c of candidates) if (await stat(c).catch(() => undefined)) found.push(c);
    path = found[0] ?? candidates[0]!;
  }
  const body = await readBounded(path, MAX_MANIFEST_BYTES).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof SwitchboardError) throw err;
    throw new InvalidArgumentError(
      `cannot read the manifest ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : (err.code ?? 'unreadable')}`,
    );
  });
  return { value: parseManifestText(body, path, isYamlName(path)), origin: path, baseDir: dirname(path) };
}

/** A response body, refused past MAX_MANIFEST_BYTES without reading the rest. */
async function readBody(res: Response, url: string): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_MANIFEST_BYTES) {
      await reader.cancel();
      throw new InvalidArgumentError(`the manifest at ${url} is over ${MAX_MANIFEST_BYTES / 1024} KiB`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
