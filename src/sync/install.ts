/**
 * Installing, updating and removing connectors, with c1-core's semantics: each connector lives in
 * `$SWITCHBOARD_HOME/connectors/<store id>/<name>`; VCS sources are cloned, HTTP sources downloaded (the file
 * named by the URL's last segment), Local sources copied; then `install_command` runs there.
 * Update runs `update_command`, else `git pull` for VCS, else deletes and reinstalls.
 */
import { createWriteStream } from 'node:fs';
import { cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { opendir, readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import type { Db } from '../store/index.js';
import {
  deleteConnector,
  findConnector,
  getConnector,
  insertConnector,
  recordOf,
  replaceConnector,
  toManifest,
  touchConnector,
} from './connectors-db.js';
import { readManifestInput, validateManifest, type Manifest } from './manifest.js';
import { connectorEnv } from './env.js';
import { storeId } from './schema.js';
import { runShell, runStep, type OutputSink } from './shell.js';
import type { ConnectorRecord } from './types.js';

export interface InstallContext {
  db: Db;
  home: string;
  /** Progress and command output, as it happens. */
  onOutput?: OutputSink;
  signal?: AbortSignal;
}

export function connectorsDir(home: string): string {
  return join(home, 'connectors');
}

/**
 * A connector's folder: `$SWITCHBOARD_HOME/connectors/<store id>/<name>`, keyed by the store so two
 * stores sharing one home (SQLite and a PostgreSQL URL, two schemas) never overwrite each other.
 */
export function connectorDir(home: string, name: string, store: string): string {
  return join(connectorsDir(home), store, name);
}

/**
 * The folder a connector of this store runs in: its keyed folder, or the unkeyed
 * `connectors/<name>` of an install made before folders were keyed (until `connector update`).
 */
export async function connectorFolder(db: Db, home: string, name: string): Promise<string> {
  const keyed = connectorDir(home, name, await storeId(db));
  if (await exists(keyed)) return keyed;
  const legacy = join(connectorsDir(home), name);
  if (await exists(legacy)) return legacy;
  return keyed;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function stepEnv(m: Manifest, dir: string): NodeJS.ProcessEnv {
  return connectorEnv(m.env ?? [], { SWITCHBOARD_CONNECTOR: m.name, SWITCHBOARD_CONNECTOR_DIR: dir });
}

/** The file name a download is saved under: the URL's last segment, decoded, and only a plain name. */
export function downloadName(uri: string): string {
  const url = new URL(uri);
  const segment = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  let file: string;
  try {
    file = decodeURIComponent(segment);
  } catch {
    throw new SwitchboardError('INVALID_ARGUMENT', `the download URL ${uri} has a badly escaped file name`);
  }
  if (file === '') return 'download';
  // Decoded, `..%2F..%2Fx` is a path: a name must stay a name, inside the connector's folder.
  if (/[/\\\0]/.test(file) || file === '.' || file === '..' || isAbsolute(file))
    throw new SwitchboardError(
      'INVALID_ARGUMENT',
      `the download URL ${uri} names the file ${JSON.stringify(file)}, which is not a plain file name; it would be written outside the connector's folder`,
    );
  return file;
}

async function download(ctx: InstallContext, uri: string, dir: string): Promise<void> {
  const url = new URL(uri);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SwitchboardError('INVALID_ARGUMENT', `an HTTP source must be an http(s) URL (got ${url.protocol})`);
  const file = downloadName(uri);
  const target = resolve(dir, file);
  if (dirname(target) !== resolve(dir))
    throw new SwitchboardError('INVALID_ARGUMENT', `the download ${file} would be written outside ${dir}`);
  ctx.onOutput?.(`downloading ${uri} -> ${file}\n`);
  let res: Response;
  try {
    res = await fetch(url, { ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } catch (err) {
    throw new SwitchboardError(
      'UNAVAILABLE',
      `cannot download ${uri}: ${errorMessage(err instanceof Error && err.cause ? err.cause : err)}`,
      { cause: err, retryable: true },
    );
  }
  if (!res.ok || !res.body)
    throw new SwitchboardError('NOT_FOUND', `downloading ${uri} answered HTTP ${res.status} ${res.statusText}`);
  // `wx`: never through a file or link that is there already.
  await pipeline(
    Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>),
    createWriteStream(target, { flags: 'wx' }),
  );
  const size = (await stat(target)).size;
  ctx.onOutput?.(`downloaded ${size} bytes\n`);
}

/** Brings the connector's files into `dir` (empty) from its source. */
async function fetchSource(ctx: InstallContext, m: Manifest, dir: string): Promise<void> {
  const step = {
    cwd: dir,
    env: stepEnv(m, dir),
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  switch (m.source) {
    case 'VCS':
      ctx.onOutput?.(`$ git clone ${m.uri} .\n`);
      // `--`: a uri is never an option.
      await runStep(`git clone ${m.uri}`, 'git', ['clone', '--progress', '--', m.uri, '.'], step);
      return;
    case 'HTTP':
      await download(ctx, m.uri, dir);
      return;
    case 'Local': {
      const st = await stat(m.uri).catch(() => undefined);
      if (!st) throw new SwitchboardError('NOT_FOUND', `the Local source ${m.uri} does not exist`);
      ctx.onOutput?.(`copying ${m.uri}\n`);
      if (st.isDirectory()) {
        await refuseEscapingLinks(m.uri);
        // verbatimSymlinks: a relative link stays relative, so it points inside the copy.
        await cp(m.uri, dir, { recursive: true, verbatimSymlinks: true });
      } else await cp(m.uri, join(dir, basename(m.uri)));
      return;
    }
  }
}

/**
 * A Local folder is copied as it is, links included, but a link must point inside it: an absolute
 * target or one that climbs out (`../../etc`) would make the connector's folder reach elsewhere.
 */
async function refuseEscapingLinks(root: string): Promise<void> {
  const top = resolve(root);
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of await opendir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await readlink(path);
        const rel = relative(top, resolve(dirname(path), target));
        const inside = !isAbsolute(target) && rel !== '..' && !rel.startsWith(`..${sep}`);
        if (!inside)
          throw new SwitchboardError(
            'INVALID_ARGUMENT',
            `the Local source ${root} holds a link ${relative(top, path)} -> ${target} that points outside it; copy the file itself, or make the link relative and inside`,
          );
      } else if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(top);
}

async function runInstallCommand(
  ctx: InstallContext,
  m: Manifest,
  dir: string,
  which: 'install_command' | 'update_command',
): Promise<void> {
  const command = m[which];
  if (!command) return;
  await runShell(`${which.replace('_', ' ')} of ${m.name}`, command, {
    cwd: dir,
    env: stepEnv(m, dir),
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

/** Fetches the source and runs `install_command` into a fresh folder; the folder is removed on failure. */
async function materialise(ctx: InstallContext, m: Manifest, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    await fetchSource(ctx, m, dir);
    await runInstallCommand(ctx, m, dir, 'install_command');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Delete-and-reinstall that survives a failure: the old folder is moved aside (not copied:
 * install commands may bake in absolute paths, so the new install is built in place), and moved
 * back if fetching or installing fails.
 */
async function reinstallKeepingOld(ctx: InstallContext, m: Manifest, dir: string): Promise<void> {
  const aside = `${dir}.previous`;
  await rm(aside, { recursive: true, force: true });
  await rename(dir, aside);
  try {
    await materialise(ctx, m, dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await rename(aside, dir);
    ctx.onOutput?.(`the reinstall failed; kept the previous install of ${m.name}\n`);
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}

/** Installs from raw JSON, a URL or a path (`arg`), with an optional name override. */
export async function installConnector(
  ctx: InstallContext,
  arg: string,
  opts: { name?: string } = {},
): Promise<ConnectorRecord> {
  const input = await readManifestInput(arg);
  const manifest = validateManifest(input.value, {
    origin: input.origin,
    ...(opts.name ? { nameOverride: opts.name } : {}),
    ...(input.baseDir ? { baseDir: input.baseDir } : {}),
  });
  return installManifest(ctx, manifest);
}

/** An Airbyte source without an `options_schema` gets its `spec`'s, asked once at install. */
async function withSpec(ctx: InstallContext, m: Manifest, dir: string): Promise<Manifest> {
  if (m.protocol !== 'airbyte' || m.options_schema) return m;
  ctx.onOutput?.(`$ ${m.command} spec\n`);
  const { airbyteDriver } = await import('./airbyte/driver.js');
  const schema = await airbyteDriver.spec!({
    connector: recordOf(m),
    cwd: dir,
    env: { SWITCHBOARD_CONNECTOR: m.name, SWITCHBOARD_CONNECTOR_DIR: dir },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  ctx.onOutput?.(
    `its spec: options with ${Object.keys((schema?.properties as object | undefined) ?? {}).length} field(s)\n`,
  );
  return { ...m, options_schema: schema ?? null };
}

/**
 * Replaces an installed connector's manifest (`connector edit`). The name stays (install under a
 * new name to rename). When where it comes from or how it installs changed, it is reinstalled
 * (the old folder comes back if that fails); otherwise only the record changes.
 */
export async function editConnector(ctx: InstallContext, name: string, arg: string): Promise<ConnectorRecord> {
  const current = await getConnector(ctx.db, name);
  const input = await readManifestInput(arg);
  const raw = input.value;
  if (raw && typeof raw === 'object' && 'name' in raw && (raw as { name: unknown }).name !== name)
    throw new SwitchboardError(
      'INVALID_ARGUMENT',
      `the manifest is named ${JSON.stringify((raw as { name: unknown }).name)}, not "${name}": a connector keeps its name (install it under the new name instead)`,
    );
  let m = validateManifest(raw, {
    origin: input.origin,
    nameOverride: name,
    ...(input.baseDir ? { baseDir: input.baseDir } : {}),
  });
  const old = toManifest(current);
  const dir = connectorDir(ctx.home, name, await storeId(ctx.db));
  const folder = await connectorFolder(ctx.db, ctx.home, name);
  const refetch =
    old.source !== m.source ||
    old.uri !== m.uri ||
    old.install_command !== m.install_command ||
    folder !== dir ||
    !(await exists(dir));
  if (refetch) {
    ctx.onOutput?.(`reinstalling ${name}: its source or install command changed\n`);
    if (await exists(dir)) await reinstallKeepingOld(ctx, m, dir);
    else await materialise(ctx, m, dir);
  }
  if (m.protocol === 'airbyte' && !m.options_schema) m = await withSpec(ctx, m, dir);
  const record = await replaceConnector(ctx.db, m);
  ctx.onOutput?.(`edited ${name}\n`);
  return record;
}

export async function installManifest(ctx: InstallContext, m: Manifest): Promise<ConnectorRecord> {
  if (await findConnector(ctx.db, m.name)) {
    throw new SwitchboardError(
      'CONFLICT',
      `a connector named "${m.name}" is installed already (update it with \`switchboard connector update ${m.name}\`, remove it first, or install under another --name)`,
    );
  }
  const dir = connectorDir(ctx.home, m.name, await storeId(ctx.db));
  if (await exists(dir)) ctx.onOutput?.(`removing a leftover folder ${dir}\n`);
  ctx.onOutput?.(`installing ${m.name} (${m.source} ${m.uri}) into ${dir}\n`);
  await materialise(ctx, m, dir);
  try {
    m = await withSpec(ctx, m, dir);
    const record = await insertConnector(ctx.db, m);
    ctx.onOutput?.(`installed ${m.name}\n`);
    return record;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if (await findConnector(ctx.db, m.name))
      throw new SwitchboardError('CONFLICT', `a connector named "${m.name}" was installed by someone else meanwhile`, {
        cause: err,
      });
    throw err;
  }
}

/** update_command if set, else `git pull` for VCS, else delete and reinstall. */
export async function updateConnector(ctx: InstallContext, name: string): Promise<ConnectorRecord> {
  const record = await getConnector(ctx.db, name);
  const m = toManifest(record);
  const dir = connectorDir(ctx.home, name, await storeId(ctx.db));
  const legacy = await connectorFolder(ctx.db, ctx.home, name);
  if (legacy !== dir) {
    // An install from before folders were keyed by store: reinstall into this store's own folder.
    ctx.onOutput?.(`moving ${name} into this store's folder ${dir}\n`);
    await materialise(ctx, m, dir);
    await touchConnector(ctx.db, name);
    return getConnector(ctx.db, name);
  }
  const step = {
    cwd: dir,
    env: stepEnv(m, dir),
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  if (!(await exists(dir))) {
    ctx.onOutput?.(`the folder ${dir} is missing: reinstalling ${name}\n`);
    await materialise(ctx, m, dir);
  } else if (m.update_command) {
    ctx.onOutput?.(`updating ${name} with its update_command\n`);
    await runInstallCommand(ctx, m, dir, 'update_command');
  } else if (m.source === 'VCS') {
    ctx.onOutput?.(`$ git pull\n`);
    await runStep(`git pull of ${name}`, 'git', ['pull', '--progress'], step);
  } else {
    ctx.onOutput?.(`reinstalling ${name} from ${m.uri}\n`);
    await reinstallKeepingOld(ctx, m, dir);
  }
  await touchConnector(ctx.db, name);
  ctx.onOutput?.(`updated ${name}\n`);
  return getConnector(ctx.db, name);
}

/**
 * Deletes the row and the folder. Accounts of the connector keep it from being removed unless
 * `force`, which removes them (and, by cascade, their data objects) too.
 */
export async function removeConnector(
  ctx: InstallContext,
  name: string,
  opts: { force?: boolean } = {},
): Promise<{ accountsRemoved: number }> {
  await getConnector(ctx.db, name);
  const accountsRemoved = await ctx.db.transaction(async (tx) => {
    const accounts = await tx.query<{ name: string }>('SELECT name FROM accounts WHERE connector = ? ORDER BY name', [
      name,
    ]);
    if (accounts.length && !opts.force) {
      throw new SwitchboardError(
        'CONFLICT',
        `connector "${name}" still has ${accounts.length} account(s): ${accounts.map((a) => a.name).join(', ')}; remove them first or pass --force to remove them and their data`,
      );
    }
    const n = accounts.length ? await tx.exec('DELETE FROM accounts WHERE connector = ?', [name]) : 0;
    await deleteConnector(tx, name);
    return n;
  });
  await rm(await connectorFolder(ctx.db, ctx.home, name), { recursive: true, force: true });
  ctx.onOutput?.(`removed ${name}${accountsRemoved ? ` and ${accountsRemoved} account(s)` : ''}\n`);
  return { accountsRemoved };
}
