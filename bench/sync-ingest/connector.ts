// The benchmark's TypeScript SDK connector: {"pages": N, "perPage": M} pages of generated objects.
import { serveConnector } from '../../src/sync/sdk/index.js';
import { pageObjects } from './rows.js';

await serveConnector<{ pages: number; perPage: number }>({
  async sync({ pages, perPage }, { upsert }) {
    for (let p = 0; p < pages; p++) await upsert(pageObjects(p, perPage));
    return JSON.stringify({ pages, perPage });
  },
});
