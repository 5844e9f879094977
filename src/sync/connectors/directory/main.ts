/**
 * Example connector (TypeScript SDK): a local directory tree as data objects, one per file, with
 * its path, size, modified time and SHA-256. Options: `{ "root": "/some/dir", "pageSize": 500,
 * "hidden": false }`. Ends with Clean, so files deleted since the last sync disappear too.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { serveConnector, type ConnectorObject } from '../../sdk/index.js';

const Options = z.object({
  root: z.string().min(1),
  pageSize: z.number().int().min(1).max(10_000).default(500),
  /** Include dot-files and dot-folders. */
  hidden: z.boolean().default(false),
});

async function* files(dir: string, hidden: boolean, signal: AbortSignal): AsyncGenerator<string> {
  const entries = [];
  for await (const entry of await opendir(dir)) entries.push(entry);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (signal.aborted) return;
    if (!hidden && entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    // Symbolic links are skipped: they could loop or leave the tree.
    if (entry.isDirectory()) yield* files(path, hidden, signal);
    else if (entry.isFile()) yield path;
  }
}

function sha256(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolveHash(hash.digest('hex')));
  });
}

await serveConnector({
  options: Options,
  async check({ root }) {
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`root ${JSON.stringify(root)} is not a readable directory`);
  },
  async sync({ root, pageSize, hidden }, { upsert, clean, signal, log }) {
    const base = resolve(root);
    let page: ConnectorObject[] = [];
    let count = 0;
    let bytes = 0;
    for await (const path of files(base, hidden, signal)) {
      const info = await stat(path).catch(() => undefined);
      if (!info) continue; // deleted while we walked
      const rel = relative(base, path).split(sep).join('/');
      page.push({
        remoteId: rel,
        resourceName: basename(path),
        uri: pathToFileURL(path).href,
        metadata: { path: rel, size: info.size, modified: info.mtime.toISOString(), sha256: await sha256(path) },
      });
      count++;
      bytes += info.size;
      if (page.length >= pageSize) {
        await upsert(page);
        page = [];
      }
    }
    if (signal.aborted) throw new Error('cancelled');
    if (page.length) await upsert(page);
    await clean();
    log.info('directory synced', { root: base, files: count, bytes });
    return { root: base, files: count, bytes };
  },
});
