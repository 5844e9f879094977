/**
 * {{name}}: a Switchboard sync connector. Switchboard starts it (`node dist/main.js`, from the
 * manifest) once per sync and speaks go-plugin's gRPC protocol with it; `serveConnector` does
 * that part. What is yours: the options, `check` and `sync`.
 *
 * It reads the items of a JSON file (`sample.json` beside this folder by default) and sends them
 * in pages. To sync a real source, replace `readItems` with calls to its API, page by page.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
// The SDK alone: `switchboard/sync` also loads the host and its store, which a connector never uses
// (~150 ms more at the start of every sync).
import { serveConnector, type ConnectorObject } from 'switchboard/sync/sdk';

/** The account's options (`switchboard account add --options '{...}'`), checked before each sync. */
const Options = z.object({
  /** The file to read: absolute, or relative to this connector's folder. */
  file: z.string().min(1).default('sample.json'),
  /** Objects per page sent to Switchboard. */
  pageSize: z.number().int().min(1).max(10_000).default(5),
});
type Options = z.infer<typeof Options>;

const Item = z.looseObject({ id: z.union([z.string().min(1), z.number()]), name: z.string().optional() });
type Item = z.infer<typeof Item>;

/** This connector's folder (dist/main.js is one level down). */
const folder = dirname(dirname(fileURLToPath(import.meta.url)));

async function readItems({ file }: Options): Promise<Item[]> {
  const path = isAbsolute(file) ? file : join(folder, file);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${path}: ${err.code ?? err.message}`);
  });
  const parsed = z.array(Item).safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} must hold a list of items with an "id": ${parsed.error.message}`);
  return parsed.data;
}

function toObject(item: Item): ConnectorObject {
  return { remoteId: String(item.id), resourceName: item.name ?? String(item.id), metadata: item };
}

await serveConnector({
  options: Options,
  // Runs before each sync: refuse bad options with a sentence the user can act on.
  async check(options) {
    await readItems(options);
  },
  async sync(options, { upsert, clean, signal, log }) {
    const items = await readItems(options);
    for (let i = 0; i < items.length; i += options.pageSize) {
      if (signal.aborted) throw new Error('cancelled');
      await upsert(items.slice(i, i + options.pageSize).map(toObject));
    }
    await clean(); // items gone from the source disappear from Switchboard too
    log.info('synced', { items: items.length });
    return { items: items.length, syncedAt: new Date().toISOString() }; // recorded with the run
  },
});
