/**
 * Known neighbors persist in `neighbors.txt` in the data path (one address or cd:/cds: URL per
 * line, `#` comments), so a restarted hub finds the cluster again without its command line.
 * Written atomically (temp file + rename), mode 0600 because cds: URLs may carry credentials.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const NEIGHBORS_FILE = 'neighbors.txt';

export function neighborsPath(dataPath: string): string {
  return join(dataPath, NEIGHBORS_FILE);
}

export function parseNeighborsText(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line && !out.includes(line)) out.push(line);
  }
  return out;
}

export async function loadNeighbors(dataPath: string): Promise<string[]> {
  try {
    return parseNeighborsText(await readFile(neighborsPath(dataPath), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function saveNeighbors(dataPath: string, neighbors: readonly string[]): Promise<void> {
  const file = neighborsPath(dataPath);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const body = `# Switchboard hub neighbors (ip:port or cd:// / cds:// URL), one per line\n${[...new Set(neighbors)].sort().join('\n')}\n`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, file);
}
