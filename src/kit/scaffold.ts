/**
 * `new`: writes a template into a fresh folder, filling `{{name}}`-style placeholders. Nothing is
 * overwritten: the target must be missing or empty. The TypeScript templates depend on this very
 * switchboard package through a tarball of it in the folder's `vendor/` (`file:vendor/...tgz`):
 * `connector install` copies the folder, links included only when they stay inside it, and
 * installs it again elsewhere, so the dependency must travel with the folder (or be a URL or an
 * absolute path, which `--switchboard` gives).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { InvalidArgumentError, SwitchboardError } from '../core/errors.js';
import { CONNECTOR_NAME } from '../sync/manifest.js';
import {
  PACKAGE_ROOT,
  TEMPLATES,
  languages,
  packageFile,
  templatesDir,
  type Template,
  type TemplateKind,
} from './templates.js';

export interface ScaffoldOptions {
  kind: TemplateKind;
  name: string;
  lang: string;
  /** The folder in which `<name>/` is created (default: the current folder). */
  dir?: string;
  /** How the TypeScript templates depend on switchboard (default: a tarball of this package in vendor/). */
  switchboard?: string;
}

export interface ScaffoldResult {
  /** The folder written. */
  dir: string;
  /** Paths written, relative to `dir`. */
  files: string[];
  /** Commands to try it, run from the folder that holds `dir`. */
  firstSteps: string[];
}

const NAME_RULE = 'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters';

/**
 * Template files are stored under names that tools leave alone: npm drops `.gitignore` from a
 * package, and test runners and the package's own checks would take `main.test.ts` for one of
 * the project's tests; `_gitignore` and a `.tmpl` suffix get their real names when written.
 */
function targetName(stored: string): string {
  if (stored === '_gitignore') return '.gitignore';
  if (stored === '_npmrc') return '.npmrc';
  return stored.endsWith('.tmpl') ? stored.slice(0, -'.tmpl'.length) : stored;
}

/** `file:<absolute path>` for paths and tarballs; git URLs, URLs and versions as given. */
export function dependencySpec(spec: string, cwd: string): string {
  const text = spec.trim();
  if (text === '')
    throw new InvalidArgumentError('--switchboard is empty: give a path, a tarball, a git URL or a version');
  const path = text.startsWith('file:') ? text.slice('file:'.length) : text;
  const looksLikePath =
    text.startsWith('file:') || /^(\.{1,2}|~)?\//.test(text) || text === '.' || /\.(tgz|tar\.gz)$/.test(text);
  if (!looksLikePath) return text;
  return `file:${isAbsolute(path) ? path : resolve(cwd, path)}`;
}

async function packageJson(): Promise<{
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}> {
  return JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
}

/** `npm pack` of the running switchboard package into `dir`; the tarball's file name. */
async function packSwitchboard(dir: string): Promise<string> {
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'cli', 'main.js')))
    throw new SwitchboardError(
      'NOT_FOUND',
      `${PACKAGE_ROOT} has no dist/: build it first (npm run build), or give --switchboard a tarball, path or git URL`,
    );
  await mkdir(dir, { recursive: true });
  let stdout: string;
  try {
    // --ignore-scripts: pack what is built; a checkout's `prepare` would rebuild it.
    ({ stdout } = await promisify(execFile)(
      'npm',
      ['pack', PACKAGE_ROOT, '--ignore-scripts', '--json', '--pack-destination', dir],
      { maxBuffer: 64 * 1024 * 1024 },
    ));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new SwitchboardError(
      'UNAVAILABLE',
      `npm pack of ${PACKAGE_ROOT} failed (npm must be on PATH for a TypeScript template): ${e.stderr?.trim() || e.message}`,
      { cause: err },
    );
  }
  const packed = JSON.parse(stdout) as { filename: string }[];
  return packed[0]!.filename;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return true;
  if (!info.isDirectory()) return false;
  return (await readdir(dir)).length === 0;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

function render(text: string, vars: Record<string, string>, file: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = vars[key];
    if (value === undefined)
      throw new SwitchboardError('INTERNAL', `template file ${file} uses {{${key}}}, which new does not fill`);
    return value;
  });
}

export async function scaffold(opts: ScaffoldOptions, cwd = process.cwd()): Promise<ScaffoldResult> {
  const template = TEMPLATES[opts.kind][opts.lang];
  if (!template)
    throw new InvalidArgumentError(
      `no ${opts.kind} template for --lang ${JSON.stringify(opts.lang)}; there are: ${languages(opts.kind).join(', ')}`,
    );
  if (!CONNECTOR_NAME.test(opts.name))
    throw new InvalidArgumentError(`${opts.kind} name ${JSON.stringify(opts.name)} must be ${NAME_RULE}`);
  const parent = resolve(cwd, opts.dir ?? '.');
  const dir = join(parent, opts.name);
  if (!(await isEmptyOrMissing(dir)))
    throw new SwitchboardError(
      'CONFLICT',
      `${dir} exists and is not empty: pick another name, --dir, or remove it (new never overwrites)`,
    );

  const existed = existsSync(dir);
  await mkdir(dir, { recursive: true });
  try {
    const files = await writeTemplate(template, opts, dir, cwd);
    return { dir, files, firstSteps: template.firstSteps(opts.name) };
  } catch (err) {
    // Leave nothing half-written: the folder was missing or empty.
    await rm(dir, { recursive: true, force: true });
    if (existed) await mkdir(dir);
    throw err;
  }
}

/** Fills `dir` from the template; the paths written, relative to `dir`. */
async function writeTemplate(template: Template, opts: ScaffoldOptions, dir: string, cwd: string): Promise<string[]> {
  const files: string[] = [];
  let switchboard = opts.switchboard ? dependencySpec(opts.switchboard, cwd) : '';
  if (template.npm && !switchboard) {
    const tarball = await packSwitchboard(join(dir, 'vendor'));
    files.push(join('vendor', tarball));
    switchboard = `file:vendor/${tarball}`;
  }
  const pkg = await packageJson();
  const vars: Record<string, string> = {
    name: opts.name,
    package: opts.name.toLowerCase(),
    switchboard,
    zodVersion: pkg.dependencies?.zod ?? '^4.0.0',
    typescriptVersion: pkg.devDependencies?.typescript ?? '~5.9.0',
    typesNodeVersion: pkg.devDependencies?.['@types/node'] ?? '^20.0.0',
  };
  const write = async (from: string, to: string, fill: boolean): Promise<void> => {
    const text = await readFile(from, 'utf8');
    const target = join(dir, to);
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, fill ? render(text, vars, from) : text, { flag: 'wx' });
    // Scripts stay runnable: keep the template's executable bits.
    const mode = (await stat(from)).mode & 0o777;
    if (mode & 0o111) await chmod(target, mode | 0o644);
    files.push(to);
  };
  const source = join(templatesDir(), template.folder);
  for await (const path of walk(source)) {
    const parts = relative(source, path).split(/[\\/]/);
    const last = parts.pop()!;
    await write(path, join(...parts, targetName(last)), true);
  }
  for (const [to, from] of Object.entries(template.extras ?? {})) await write(packageFile(from), to, false);
  return files.sort();
}
