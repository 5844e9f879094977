// The benchmark's TypeScript SDK connector: {"pages": N, "perPage": M} pages of generated objects.
// With "version": V it is a source whose objects change over versions: object i was last changed
// in version v - ((v - i) mod 100), so each version changes 1% of them. A run with state
// {"version": S} (an incremental re-sync) sends only objects changed after S; without state it
// sends all of them and cleans (a full refresh). Either way it checkpoints {"version": V}.
import { serveConnector } from '../../src/sync/sdk/index.js';
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
    let sent = 0;
    let page = [];
    for (let p = 0; p < pages; p++) {
      const objects = pageObjects(p, perPage, 'go', version);
      for (let i = 0; i < objects.length; i++) {
        const index = p * perPage + i;
        const changedIn = version - ((((version - index) % 100) + 100) % 100);
        if (since !== undefined && changedIn <= since) continue;
        page.push(objects[i]!);
        if (page.length === perPage) {
          await upsert(page);
          sent += page.length;
          page = [];
        }
      }
    }
    if (page.length) await upsert(page);
    sent += page.length;
    if (since === undefined) await clean();
    await checkpoint({ version });
    return JSON.stringify({ sent, since: since ?? null, version });
  },
});
