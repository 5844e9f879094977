// The benchmark's TypeScript SDK connector: {"pages": N, "perPage": M} pages of generated objects.
// With "version": V it is a source whose objects change over versions: object i was last changed
// in version v - ((v - i) mod 100), so each version changes 1% of them. A run with state
// {"version": S} (an incremental re-sync) sends only objects changed after S; without state it
// sends all of them and cleans (a full refresh). Either way it checkpoints {"version": V}.
import { serveConnector } from '../../src/sync/sdk/index.js';
import type { DataObject } from '../../src/sync/goplugin/types.js';
import { pageObjects } from './rows.js';

interface Options {
  pages: number;
  perPage: number;
  version?: number;
}

await serveConnector<Options>({
  async sync({ pages, perPage, version }, { upsert, clean, checkpoint, state }) {
    if (version === undefined) {
      for (let p = 0; p < pages; p++) await upsert(pageObjects(p, perPage));
      return JSON.stringify({ pages, perPage });
    }
    const since = state ? (JSON.parse(state) as { version: number }).version : undefined;
    const total = pages * perPage;
    let sent = 0;
    let page: DataObject[] = [];
    const send = async (index: number) => {
      const p = Math.floor(index / perPage);
      page.push(pageObjects(p, 1, 'go', version, index % perPage)[0]!);
      if (page.length === perPage) {
        await upsert(page);
        sent += page.length;
        page = [];
      }
    };
    if (since === undefined) {
      // A full refresh: every object as it is now.
      for (let p = 0; p < pages; p++) {
        await upsert(pageObjects(p, perPage, 'go', version));
        sent += perPage;
      }
    } else {
      // Incremental, as a source asked for "changes since" answers: only the objects changed in
      // versions after `since` (residues version, version-1, ... mod 100), never the rest.
      for (let k = 0; k < Math.min(version - since, 100); k++) {
        const residue = (((version - k) % 100) + 100) % 100;
        for (let index = residue; index < total; index += 100) await send(index);
      }
    }
    if (page.length) await upsert(page);
    sent += page.length;
    if (since === undefined) await clean();
    await checkpoint({ version });
    return JSON.stringify({ sent, since: since ?? null, version });
  },
});
