/**
 * Installing, updating and removing connectors, with c1-core's semantics: each connector lives in
 * `$SWITCHBOARD_HOME/connectors/<name>`; VCS sources are cloned, HTTP sources downloaded (the file
 * named by the URL's last segment), Local sources copied; then `install_command` runs there.
 * Update runs `update_command`, else `git pull` for VCS, else deletes and reinstalls.
 */
import { createWriteStream } from 'node:fs';
import { cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
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
  toManifest,
  touchConnector,
} from './connectors-db.js';
import { readManifestInput, validateManifest, type Manifest } from './manifest.js';
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

export function connectorDir(home: string, name: string): string {
  return join(connectorsDir(home), name);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function stepEnv(ctx: InstallContext, m: Manifest, dir: string): NodeJS.ProcessEnv {
  return { ...process.env, SWITCHBOARD_HOME: ctx.home, SWITCHBOARD_CONNECTOR: m.name, SWITCHBOARD_CONNECTOR_DIR: dir };
}

async function download(ctx: InstallContext, uri: string, dir: string): Promise<void> {
  const url = new URL(uri);
  const file = decodeURIComponent(basename(url.pathname)) || 'download';
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
  await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), createWriteStream(join(dir, file)));
  const size = (await stat(join(dir, file))).size;
  ctx.onOutput?.(`downloaded ${size} bytes\n`);
}

/** Brings the connector's files into `dir` (empty) from its source. */
async function fetchSource(ctx: InstallContext, m: Manifest, dir: string): Promise<void> {
  const step = {
    cwd: dir,
    env: stepEnv(ctx, m, dir),
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  switch (m.source) {
    case 'VCS':
      ctx.onOutput?.(`$ git clone ${m.uri} .\n`);
      await runStep(`git clone ${m.uri}`, 'git', ['clone', '--progress', m.uri, '.'], step);
      return;
    case 'HTTP':
      await download(ctx, m.uri, dir);
      return;
    case 'Local': {
      const st = await stat(m.uri).catch(() => undefined);
      if (!st) throw new SwitchboardError('NOT_FOUND', `the Local source ${m.uri} does not exist`);
      ctx.onOutput?.(`copying ${m.uri}\n`);
      if (st.isDirectory()) await cp(m.uri, dir, { recursive: true });
      else await cp(m.uri, join(dir, basename(m.uri)));
      return;
    }
  }
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
    env: stepEnv(ctx, m, dir),
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

export async function installManifest(ctx: InstallContext, m: Manifest): Promise<ConnectorRecord> {
  if (await findConnector(ctx.db, m.name)) {
    throw new SwitchboardError(
      'CONFLICT',
      `a connector named "${m.name}" is installed already (update it with \`switchboard connector update ${m.name}\`, remove it first, or install under another --name)`,
    );
  }
  const dir = connectorDir(ctx.home, m.name);
  if (await exists(dir)) ctx.onOutput?.(`removing a leftover folder ${dir}\n`);
  ctx.onOutput?.(`installing ${m.name} (${m.source} ${m.uri}) into ${dir}\n`);
  await materialise(ctx, m, dir);
  try {
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
  const dir = connectorDir(ctx.home, name);
  const step = {
    cwd: dir,
    env: stepEnv(ctx, m, dir),
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
  await rm(connectorDir(ctx.home, name), { recursive: true, force: true });
  ctx.onOutput?.(`removed ${name}${accountsRemoved ? ` and ${accountsRemoved} account(s)` : ''}\n`);
  return { accountsRemoved };
}
